import type { Clock } from '../core/clock.ts';
import type { BounceCategory, SmtpReply } from '../core/delivery/bounce-rules.ts';
import type { DestinationHealth } from '../core/delivery/destination-health.ts';
import type { TokenBucket } from '../core/delivery/throttle.ts';
import type { Infrastructure, ShapingRule } from '../core/fleet/fleet.ts';
import type { ClaimedDelivery } from '../store/spool-repository.ts';
import { OutboundConnection, type OutboundOptions } from '../smtp/outbound-connection.ts';
import type { SpooledMessage } from './message-cache.ts';
import { asciiDomain, type Route } from './routes.ts';

/** An outcome decided here rather than by the bounce rules (the reply was not a server's). */
export interface ForcedOutcome {
  kind: 'bounced' | 'deferred';
  category: BounceCategory;
}

/** What a queue needs from the engine that owns it. */
export interface QueueHost {
  readonly clock: Clock;
  readonly running: boolean;
  connectionOptions(infra: Infrastructure, rotation: number): OutboundOptions;
  route(infra: Infrastructure, domain: string, rotation: number): Promise<Route>;
  /** A slot under the process-wide connection bound, or false. */
  acquireConnection(): boolean;
  releaseConnection(): void;
  message(delivery: ClaimedDelivery, infra: Infrastructure): Promise<SpooledMessage & { body: Buffer } | undefined>;
  finish(delivery: ClaimedDelivery, reply: SmtpReply, forced?: ForcedOutcome): void;
  /** Hands deliveries back to the spool unattempted, due again at `until` (the destination is down). */
  postpone(deliveries: ClaimedDelivery[], until: number): void;
  /** Something unexpected broke while handling a delivery (logged by the host). */
  failed(err: unknown): void;
}

/** An idle connection is closed rather than kept through a long throttle wait. */
const maxIdleWaitMs = 10_000;

const needsSmtpUtf8: SmtpReply = {
  code: null,
  enhanced: null,
  text: 'the next hop does not offer SMTPUTF8, which this non-ASCII address needs (RFC 6531); deferred',
};

/**
 * Ready deliveries for one (infrastructure, destination domain) with its traffic shaping:
 * at most `maxConnections` sessions, `maxMessagesPerConnection` per session, and a rate.
 * A destination marked down hands its deliveries back to the spool and takes no more.
 */
export class DestinationQueue {
  private pending: ClaimedDelivery[] = [];
  private active = 0;
  private sending = 0;
  private rotation = 0;

  /** `bucket` and `health` outlive the queue (the engine keeps them), so an idle queue forgets neither. */
  constructor(
    readonly infra: Infrastructure,
    readonly domain: string,
    private readonly rule: ShapingRule,
    private readonly bucket: TokenBucket | null,
    readonly health: DestinationHealth,
    private readonly host: QueueHost,
  ) {}

  get idle(): boolean {
    return this.pending.length === 0 && this.active === 0;
  }

  /** Deliveries this queue holds in memory: waiting, and being sent. */
  get held(): number {
    return this.pending.length + this.sending;
  }

  push(delivery: ClaimedDelivery): void {
    this.pending.push(delivery);
    this.spawn();
  }

  /** Takes back deliveries not yet being sent, e.g. those of a suspended instance. */
  withdraw(match: (d: ClaimedDelivery) => boolean): ClaimedDelivery[] {
    const taken = this.pending.filter(match);
    if (taken.length > 0) this.pending = this.pending.filter((d) => !match(d));
    return taken;
  }

  /** Starts sessions while there is work, room under the domain's limit and a global slot. */
  spawn(): void {
    const now = this.host.clock.now();
    if (this.health.isDown(now)) return this.standDown();
    // A destination just back from being down gets one session until it answers.
    const limit = this.health.probing(now) ? 1 : this.rule.maxConnections;
    while (this.host.running && this.active < limit && this.active < this.pending.length) {
      if (!this.host.acquireConnection()) return;
      this.active++;
      void this.session()
        .catch((err) => this.host.failed(err))
        .finally(() => {
          this.active--;
          this.host.releaseConnection();
          if (this.pending.length > 0) this.spawn();
        });
    }
  }

  private standDown(): void {
    if (this.pending.length > 0) this.host.postpone(this.pending.splice(0), this.health.downUntil);
  }

  private async session(): Promise<void> {
    let conn: OutboundConnection | null = null;
    let sent = 0;
    try {
      while (this.host.running && this.pending.length > 0) {
        if (this.health.isDown(this.host.clock.now())) {
          this.standDown();
          break;
        }
        const wait = this.bucket ? this.bucket.take(this.host.clock.now()) : 0;
        if (wait > 0) {
          if (conn && wait > maxIdleWaitMs) {
            conn.close();
            conn = null;
          }
          // In steps, so a stopping engine is not held up by a long throttle wait.
          await this.host.clock.sleep(Math.min(wait, 1000));
          continue;
        }
        const delivery = this.pending.shift()!;
        this.sending++;
        try {
          conn = await this.attempt(delivery, conn);
        } catch (err) {
          // Whatever broke, the delivery gets an outcome (a deferral) and is never left held.
          this.host.failed(err);
          this.host.finish(delivery, { code: null, enhanced: null, text: `local error: ${(err as Error).message}` });
          conn?.close();
          conn = null;
        } finally {
          this.sending--;
        }
        if (conn) {
          sent++;
          if (!conn.usable || sent >= this.rule.maxMessagesPerConnection) {
            conn.close();
            conn = null;
            sent = 0;
          }
        } else {
          sent = 0;
        }
      }
    } finally {
      conn?.close();
    }
  }

  /** One delivery over `conn` (opened if needed); returns the connection if it may be reused. */
  private async attempt(delivery: ClaimedDelivery, conn: OutboundConnection | null): Promise<OutboundConnection | null> {
    const message = await this.host.message(delivery, this.infra);
    if (!message) {
      this.host.finish(delivery, { code: 554, enhanced: '5.3.0', text: '554 5.3.0 message body missing from the spool' });
      return conn;
    }
    if (conn && !conn.usable) {
      conn.close();
      conn = null;
    }
    if (!conn) {
      const opened = await this.connect();
      if (!opened.ok) {
        if (opened.permanent) {
          // The same answer holds for every delivery to this domain: none is attempted.
          const forced: ForcedOutcome = { kind: 'bounced', category: opened.reply.enhanced === '5.1.10' ? 'bad-domain' : 'policy' };
          this.host.finish(delivery, opened.reply, forced);
          for (const d of this.pending.splice(0)) this.host.finish(d, opened.reply, forced);
          return null;
        }
        this.host.finish(delivery, opened.reply);
        // Repeated failures mark the destination down: the rest wait in the spool, not
        // each for its own connect timeout, and nobody else's queue waits at all.
        if (this.health.failure(this.host.clock.now())) this.standDown();
        return null;
      }
      this.health.success();
      conn = opened.connection;
    }
    const from = asciiAddress(message.mailFrom);
    const to = asciiAddress(delivery.recipient);
    if (!conn.smtpUtf8 && (nonAscii(from) || nonAscii(to))) {
      // It may leave later, or through another infrastructure whose relay offers SMTPUTF8.
      this.host.finish(delivery, needsSmtpUtf8, { kind: 'deferred', category: 'protocol' });
      return conn;
    }
    const result = await conn.send(from, to, message.body);
    this.host.finish(delivery, result.reply);
    const reusable = result.ok || (result.connectionUsable && (await conn.reset()));
    if (reusable) return conn;
    conn.close();
    return null;
  }

  private async connect(): Promise<{ ok: true; connection: OutboundConnection } | { ok: false; permanent: boolean; reply: SmtpReply }> {
    const rotation = this.rotation++;
    const route = await this.host.route(this.infra, this.domain, rotation);
    if (!route.ok) return route;
    let last: SmtpReply = { code: null, enhanced: null, text: 'no route to destination' };
    for (const hop of route.hosts) {
      const opened = await OutboundConnection.open(hop, this.host.connectionOptions(this.infra, rotation));
      if (opened.ok) return opened;
      // Refusals before a transaction starts (greeting, EHLO) say nothing of the message: defer.
      last = { code: null, enhanced: null, text: `${hop.servername ?? hop.host}:${hop.port}: ${opened.reply.text}` };
    }
    return { ok: false, permanent: false, reply: last };
  }
}

/** The domain as A-labels: IDN domains go out in punycode, which every server takes. */
function asciiAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  return `${address.slice(0, at)}@${asciiDomain(address.slice(at + 1)) || address.slice(at + 1)}`;
}

function nonAscii(address: string): boolean {
  return /[^\x00-\x7f]/.test(address);
}
