import type { Clock } from '../core/clock.ts';
import type { SmtpReply } from '../core/delivery/bounce-rules.ts';
import type { TokenBucket } from '../core/delivery/throttle.ts';
import type { Infrastructure, ShapingRule } from '../core/fleet/fleet.ts';
import type { ClaimedDelivery } from '../store/spool-repository.ts';
import { OutboundConnection, type OutboundOptions } from '../smtp/outbound-connection.ts';
import type { SpooledMessage } from './message-cache.ts';
import { destinationHosts } from './routes.ts';

/** What a queue needs from the engine that owns it. */
export interface QueueHost {
  readonly clock: Clock;
  readonly running: boolean;
  connectionOptions(infra: Infrastructure, rotation: number): OutboundOptions;
  /** A slot under the process-wide connection bound, or false. */
  acquireConnection(): boolean;
  releaseConnection(): void;
  message(delivery: ClaimedDelivery, infra: Infrastructure): Promise<SpooledMessage & { body: Buffer } | undefined>;
  finish(delivery: ClaimedDelivery, reply: SmtpReply): void;
  /** Something unexpected broke while handling a delivery (logged by the host). */
  failed(err: unknown): void;
}

/** An idle connection is closed rather than kept through a long throttle wait. */
const maxIdleWaitMs = 10_000;

/**
 * Ready deliveries for one (infrastructure, destination domain) with its traffic shaping:
 * at most `maxConnections` sessions, `maxMessagesPerConnection` per session, and a rate.
 */
export class DestinationQueue {
  private pending: ClaimedDelivery[] = [];
  private active = 0;
  private rotation = 0;

  /** `bucket` outlives the queue (the engine keeps it), so an idle queue never resets its rate. */
  constructor(
    readonly infra: Infrastructure,
    readonly domain: string,
    private readonly rule: ShapingRule,
    private readonly bucket: TokenBucket | null,
    private readonly host: QueueHost,
  ) {}

  get idle(): boolean {
    return this.pending.length === 0 && this.active === 0;
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
    while (this.host.running && this.active < this.rule.maxConnections && this.active < this.pending.length) {
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

  private async session(): Promise<void> {
    let conn: OutboundConnection | null = null;
    let sent = 0;
    try {
      while (this.host.running && this.pending.length > 0) {
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
        try {
          conn = await this.attempt(delivery, conn);
        } catch (err) {
          // Whatever broke, the delivery gets an outcome (a deferral) and is never left held.
          this.host.failed(err);
          this.host.finish(delivery, { code: null, enhanced: null, text: `local error: ${(err as Error).message}` });
          conn?.close();
          conn = null;
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
        // The destination is unreachable: everything queued for it is deferred at once
        // (as an MTA marks a destination dead) instead of each waiting its own timeout.
        this.host.finish(delivery, opened.reply);
        for (const d of this.pending.splice(0)) this.host.finish(d, opened.reply);
        return null;
      }
      conn = opened.connection;
    }
    const result = await conn.send(message.mailFrom, delivery.recipient, message.body);
    this.host.finish(delivery, result.reply);
    const reusable = result.ok || (result.connectionUsable && (await conn.reset()));
    if (reusable) return conn;
    conn.close();
    return null;
  }

  private async connect(): Promise<{ ok: true; connection: OutboundConnection } | { ok: false; reply: SmtpReply }> {
    const rotation = this.rotation++;
    const hosts = await destinationHosts(this.infra, this.domain, rotation);
    let last: SmtpReply = { code: null, enhanced: null, text: 'no route to destination' };
    for (const relay of hosts) {
      const opened = await OutboundConnection.open(relay, this.host.connectionOptions(this.infra, rotation));
      if (opened.ok) return opened;
      // Refusals before a transaction starts (greeting, EHLO) say nothing of the message: defer.
      last = { code: null, enhanced: null, text: `${relay.host}:${relay.port}: ${opened.reply.text}` };
    }
    return { ok: false, reply: last };
  }
}
