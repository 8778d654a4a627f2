import type { Clock } from '../core/clock.ts';
import type { BounceCategory, SmtpReply } from '../core/delivery/bounce-rules.ts';
import { routeDownUntil, type DestinationHealth, type HopHealth } from '../core/delivery/destination-health.ts';
import type { Infrastructure, ShapingRule, TlsPolicy } from '../core/fleet/fleet.ts';
import type { ClaimedDelivery } from '../store/spool-repository.ts';
import { OutboundConnection, type OutboundOptions, type SendResult, type TlsOutcome } from '../smtp/outbound-connection.ts';
import type { ConnectionSlot, RateGate, SlotPool } from './cluster-limits.ts';
import type { SpooledMessage } from './message-cache.ts';
import { asciiDomain, hopKey, relayHops, type Hop, type Route } from './routes.ts';

/** An outcome decided here rather than by the bounce rules (the reply was not a server's). */
export interface ForcedOutcome {
  kind: 'bounced' | 'deferred';
  category: BounceCategory;
  /** A bounce that suppresses the recipient (its domain does not exist). */
  suppress?: boolean;
}

/** What a queue needs from the engine that owns it. */
export interface QueueHost {
  readonly clock: Clock;
  readonly running: boolean;
  /** How to connect to `hop`: the infrastructure's settings, the hop's login, the destination's TLS policy over the infrastructure's. */
  connectionOptions(infra: Infrastructure, rotation: number, hop?: Hop, tls?: TlsPolicy): OutboundOptions;
  /** The MX route of a domain (DNS, bounded in time); relay routes are read off the infrastructure. */
  route(infra: Infrastructure, domain: string, rotation: number): Promise<Route>;
  /** The health of a next hop, shared by every queue routed through it (`peek`: only if known). */
  hop(hop: Hop): HopHealth;
  peekHop(hop: Hop): HopHealth | undefined;
  /** An attempt to a hop has settled (`down`: it is now marked down): queues waiting on it may go on. */
  hopSettled(hop: Hop, down: boolean): void;
  /** Call `queue.spawn()` again when an attempt to one of `hops` settles. */
  waitForHop(queue: DestinationQueue, hops: readonly Hop[]): void;
  /**
   * A slot under the process-wide connection bound, charged to an instance, which holds no
   * more than its share: `full` (no slot) and `instance` (its share is used up) put the
   * queue in line, and `spawn(instanceId)` is called when a slot is its turn.
   */
  acquireConnection(instanceId: number, queue: DestinationQueue): 'ok' | 'instance' | 'full';
  releaseConnection(instanceId: number): void;
  /** Whether a queue waits for a connection slot (then no session keeps an idle connection). */
  connectionWanted(): boolean;
  /** A session goes on with another instance's deliveries: the slot is charged to `to` if its share has room. */
  transferConnection(from: number, to: number): boolean;
  message(delivery: ClaimedDelivery, infra: Infrastructure): Promise<(SpooledMessage & { body: Buffer }) | undefined>;
  /** `tls`: how the session of the attempt was protected, for its event. */
  finish(delivery: ClaimedDelivery, reply: SmtpReply, forced?: ForcedOutcome, tls?: TlsOutcome): void;
  /** Hands deliveries back to the spool unattempted, due again at `until` (the destination is down). */
  postpone(deliveries: ClaimedDelivery[], until: number): void;
  /** Something unexpected broke while handling a delivery (logged by the host). */
  failed(err: unknown): void;
}

/** What the engine keeps of one (infrastructure, domain) beyond the life of its queue. */
export interface DestinationState {
  /** Failures only the domain explains (its DNS); connection failures are the hops'. */
  readonly health: DestinationHealth;
  /** The last MX route resolved, until `expires` (`tls`: the domain's MTA-STS asks for verified TLS). */
  route?: { hosts: Hop[]; expires: number; tls?: TlsPolicy };
  /**
   * Until when its deliveries are left to other nodes: every connection slot of the
   * destination was held by them for a while, so deliveries this node claimed went back.
   */
  elsewhereUntil?: number;
}

/** An idle connection is closed rather than kept through a long throttle wait. */
const maxIdleWaitMs = 10_000;

/**
 * How long a session whose queue ran empty keeps its connection for the next delivery, as
 * Postfix's connection cache does: mail that trickles in (clients that open a connection per
 * message) then goes out over one connection instead of one each. Kept only while no other
 * queue waits for a connection slot (see closeIdle).
 */
export const idleKeepMs = 1000;

/** How long a resolved MX route is used before it is looked up again. */
export const routeTtlMs = 60_000;

/**
 * A queue without a session that finds every connection slot of its destination held by
 * other nodes this long hands its deliveries back to the spool for them (their sessions
 * go on as long as there is work, so it might otherwise wait for the whole backlog), and
 * its node claims none of that destination for a while.
 */
const slotWaitMs = 2000;
const elsewhereMs = 5000;

const needsSmtpUtf8: SmtpReply = {
  code: null,
  enhanced: null,
  text: 'the next hop does not offer SMTPUTF8, which this non-ASCII address needs (RFC 6531); deferred',
};

/** An attempt to a hop, counted against its health until it settles. */
interface Reserved {
  hop: Hop;
  health: HopHealth;
}

/**
 * Ready deliveries for one (infrastructure, destination domain) with its traffic shaping:
 * at most `maxConnections` sessions, `maxMessagesPerConnection` per session, and a rate;
 * in a cluster each session also holds one of the destination's slots, shared by every
 * node, and the rate's tokens come from a bucket they share.
 * Sessions go to the route's next hops that are up; when all of them (or the domain) are
 * down, the queue hands its deliveries back to the spool and takes no more. The route is
 * known before a session takes a connection slot (MX look-ups hold none), and each
 * session's slot is charged to the instance whose deliveries it sends.
 */
export class DestinationQueue {
  private pending: ClaimedDelivery[] = [];
  private active = 0;
  private sending = 0;
  private rotation = 0;
  /** Sessions per instance they are charged to. */
  private readonly sessions = new Map<number, number>();
  private resolving = false;
  /** Since when this queue, with no session, has waited for a destination slot. */
  private slotWaitSince: number | null = null;
  /** Sessions keeping an open connection while the queue is empty, woken by push or closeIdle. */
  private readonly idleSessions = new Set<(work: boolean) => void>();

  /** `limits` and `destination` outlive the queue (the engine keeps them), so an idle queue forgets neither. */
  constructor(
    readonly infra: Infrastructure,
    readonly domain: string,
    private readonly rule: ShapingRule,
    private readonly limits: { rate: RateGate | null; slots: SlotPool },
    readonly destination: DestinationState,
    private readonly host: QueueHost,
  ) {}

  get health(): DestinationHealth {
    return this.destination.health;
  }

  get idle(): boolean {
    return this.pending.length === 0 && this.active === 0 && !this.resolving;
  }

  /** Deliveries this queue holds in memory: waiting, and being sent. */
  get held(): number {
    return this.pending.length + this.sending;
  }

  push(delivery: ClaimedDelivery): void {
    this.pending.push(delivery);
    // A session keeping its connection takes it; it still counts as its instance's session,
    // so spawn starts no other for the same delivery.
    const idle = this.idleSessions.values().next().value;
    if (idle) idle(true);
    this.spawn();
  }

  /** Sessions keeping an idle connection close it now (a slot is wanted elsewhere, or the engine stops). */
  closeIdle(): void {
    for (const wake of [...this.idleSessions]) wake(false);
  }

  /** Resolves true when work arrives for a session keeping its connection, false once it should close. */
  private awaitWork(): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (work: boolean) => {
        clearTimeout(timer);
        this.idleSessions.delete(done);
        resolve(work);
      };
      // A real timer, as the connection's own timeouts: it bounds a socket, not a schedule.
      const timer = setTimeout(() => done(false), idleKeepMs);
      this.idleSessions.add(done);
    });
  }

  /** Takes back deliveries not yet being sent, e.g. those of a suspended instance. */
  withdraw(match: (d: ClaimedDelivery) => boolean): ClaimedDelivery[] {
    const taken = this.pending.filter(match);
    if (taken.length > 0) this.pending = this.pending.filter((d) => !match(d));
    return taken;
  }

  /** Whether deliveries of `instanceId` wait for a session of their own. */
  wants(instanceId: number): boolean {
    return this.waitingOf(instanceId) > 0;
  }

  private waitingOf(instanceId: number): number {
    let n = 0;
    for (const d of this.pending) if (d.instanceId === instanceId) n++;
    return n - (this.sessions.get(instanceId) ?? 0);
  }

  /** The hops of the route now; null while an MX route is being looked up (spawn is called again after). */
  private hops(now: number): Hop[] | null {
    if (this.infra.deliveryMode === 'relay') return relayHops(this.infra, this.rotation);
    const route = this.destination.route;
    if (route && now < route.expires) return route.hosts;
    this.resolve();
    return null;
  }

  /** When this queue's deliveries may be tried again: 0 unless the domain, or every hop of its route, is down. */
  downUntil(now: number): number {
    if (this.health.isDown(now)) return this.health.downUntil;
    const hops = this.infra.deliveryMode === 'relay' ? this.infra.relays : (this.destination.route?.hosts ?? []);
    return routeDownUntil(
      hops.map((h) => this.host.peekHop(h)),
      now,
    );
  }

  /** Looks the MX route up, holding no connection slot. */
  private resolve(): void {
    if (this.resolving) return;
    this.resolving = true;
    void (async () => {
      let route: Route;
      try {
        route = await this.host.route(this.infra, this.domain, this.rotation);
      } catch (err) {
        route = { ok: false, permanent: false, reply: { code: null, enhanced: null, text: `local error: ${(err as Error).message}` } };
      }
      const now = this.host.clock.now();
      if (route.ok) {
        this.destination.route = { hosts: route.hosts, expires: now + routeTtlMs, ...(route.tls ? { tls: route.tls } : {}) };
        this.health.success();
      } else if (route.permanent) {
        // The same answer holds for every delivery to this domain: none is attempted.
        const forced: ForcedOutcome = { kind: 'bounced', category: route.category ?? 'policy', suppress: route.suppress ?? false };
        for (const d of this.pending.splice(0)) this.host.finish(d, route.reply, forced);
      } else {
        // DNS failing is the domain's: one delivery is deferred, and repeated failures mark
        // the domain down so the rest wait in the spool.
        const d = this.pending.shift();
        if (d) this.host.finish(d, route.reply);
        if (this.health.failure(now)) this.standDown(this.health.downUntil);
      }
    })()
      .catch((err) => this.host.failed(err))
      .finally(() => {
        this.resolving = false;
        if (this.pending.length > 0) this.spawn();
      });
  }

  /** The first hop of `hops` that is up and may take one more attempt now, reserved; else null. */
  private reserve(hops: readonly Hop[], now: number, tried?: ReadonlySet<string>): Reserved | null {
    for (const hop of hops) {
      if (tried?.has(hopKey(hop))) continue;
      const health = this.host.hop(hop);
      if (!health.mayOpen(now)) continue;
      health.begin(now);
      return { hop, health };
    }
    return null;
  }

  private release(reserved: Reserved, ok: boolean | null): void {
    if (ok === null) reserved.health.abandoned();
    const down = ok === null ? false : reserved.health.settled(ok, this.host.clock.now());
    this.host.hopSettled(reserved.hop, down);
  }

  /**
   * Starts sessions while there is work, room under the domain's limit, one of its slots,
   * a hop that may take an attempt and a slot for the instance whose deliveries wait
   * (`only`: for that instance, at most `most`). Returns how many were started. A
   * destination slot not at hand is asked for, and `spawn()` is called again once it is.
   */
  spawn(only?: number, most = Infinity): number {
    const now = this.host.clock.now();
    const down = this.downUntil(now);
    if (down > 0) {
      this.standDown(down);
      return 0;
    }
    if (!this.host.running || this.pending.length === 0) {
      this.slotWaitSince = null;
      return 0;
    }
    const hops = this.hops(now);
    if (!hops) return 0;
    // A domain just back from being down gets one session until it answers.
    const limit = this.health.probing(now) ? 1 : this.rule.maxConnections;
    const capped = new Set<number>();
    let started = 0;
    while (started < most && this.active < limit) {
      const owner = this.owner(only, capped);
      if (owner === undefined) break;
      const destinationSlot = this.limits.slots.acquire(this.rule.maxConnections, () => this.spawn());
      if (!destinationSlot) {
        if (this.active === 0) this.slotHeldElsewhere(now);
        break;
      }
      const reserved = this.reserve(hops, now);
      if (!reserved) {
        destinationSlot.release();
        this.host.waitForHop(this, hops);
        break;
      }
      const slot = this.host.acquireConnection(owner, this);
      if (slot !== 'ok') {
        reserved.health.abandoned();
        destinationSlot.release();
        if (slot === 'full') break;
        capped.add(owner);
        continue;
      }
      this.active++;
      this.slotWaitSince = null;
      this.sessions.set(owner, (this.sessions.get(owner) ?? 0) + 1);
      this.rotation++;
      started++;
      let charged = owner;
      void this.session(owner, reserved, destinationSlot, (to) => (charged = to))
        .catch((err) => this.host.failed(err))
        .finally(() => {
          destinationSlot.release();
          this.active--;
          const n = (this.sessions.get(charged) ?? 1) - 1;
          if (n > 0) this.sessions.set(charged, n);
          else this.sessions.delete(charged);
          this.host.releaseConnection(charged);
          if (this.pending.length > 0) this.spawn();
        });
    }
    return started;
  }

  /** The instance the next session is for: the one whose deliveries came first of those without one. */
  private owner(only: number | undefined, capped: ReadonlySet<number>): number | undefined {
    if (only !== undefined) return capped.has(only) || !this.wants(only) ? undefined : only;
    const seen = new Set<number>();
    for (const d of this.pending) {
      if (seen.has(d.instanceId)) continue;
      seen.add(d.instanceId);
      if (!capped.has(d.instanceId) && this.wants(d.instanceId)) return d.instanceId;
    }
    return undefined;
  }

  private slotHeldElsewhere(now: number): void {
    this.slotWaitSince ??= now;
    if (now - this.slotWaitSince < slotWaitMs) return;
    this.slotWaitSince = null;
    this.destination.elsewhereUntil = now + elsewhereMs;
    // Due at once, for the nodes that hold the slots; no attempt burned.
    this.standDown(now);
  }

  private standDown(until: number): void {
    if (this.pending.length > 0) this.host.postpone(this.pending.splice(0), until);
  }

  /** The next delivery for a session charged to `owner`, or another instance's if its share has room. */
  private next(owner: number, moved: (to: number) => void): { delivery: ClaimedDelivery; owner: number } | null {
    const i = this.pending.findIndex((d) => d.instanceId === owner);
    if (i >= 0) return { delivery: this.pending.splice(i, 1)[0], owner };
    for (const [j, d] of this.pending.entries()) {
      if (!this.host.transferConnection(owner, d.instanceId)) continue;
      this.moveSession(owner, d.instanceId);
      moved(d.instanceId);
      return { delivery: this.pending.splice(j, 1)[0], owner: d.instanceId };
    }
    return null;
  }

  private moveSession(from: number, to: number): void {
    const n = (this.sessions.get(from) ?? 1) - 1;
    if (n > 0) this.sessions.set(from, n);
    else this.sessions.delete(from);
    this.sessions.set(to, (this.sessions.get(to) ?? 0) + 1);
  }

  private async session(first: number, reserved: Reserved, destinationSlot: ConnectionSlot, moved: (to: number) => void): Promise<void> {
    let owner = first;
    let conn: OutboundConnection | null = null;
    let hold: Reserved | null = reserved;
    let sent = 0;
    try {
      while (this.host.running && !destinationSlot.lost) {
        if (this.pending.length === 0) {
          if (!conn || this.host.connectionWanted() || !(await this.awaitWork())) break;
          continue;
        }
        const until = this.downUntil(this.host.clock.now());
        if (until > 0) {
          this.standDown(until);
          break;
        }
        const wait = this.limits.rate ? this.limits.rate.take(this.host.clock.now()) : 0;
        if (typeof wait !== 'number') {
          // A grant of the shared bucket is on its way.
          await wait;
          continue;
        }
        if (wait > 0) {
          if (conn && wait > maxIdleWaitMs) {
            conn.close();
            conn = null;
          }
          // In steps, so a stopping engine is not held up by a long throttle wait.
          await this.host.clock.sleep(Math.min(wait, 1000));
          continue;
        }
        const next = this.next(owner, (to) => {
          owner = to;
          moved(to);
        });
        if (!next) break;
        const delivery = next.delivery;
        this.sending++;
        let result: { conn: OutboundConnection | null; stop: boolean };
        try {
          result = await this.attempt(delivery, conn, hold);
          hold = null;
        } catch (err) {
          // Whatever broke, the delivery gets an outcome (a deferral) and is never left held.
          this.host.failed(err);
          this.host.finish(delivery, { code: null, enhanced: null, text: `local error: ${(err as Error).message}` });
          conn?.close();
          result = { conn: null, stop: false };
        } finally {
          this.sending--;
        }
        conn = result.conn;
        if (result.stop) break;
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
      if (hold) this.release(hold, null);
    }
  }

  /**
   * One delivery over `conn` (opened if needed, through `reserved` first); returns the
   * connection if it may be reused, and `stop` when no hop may take an attempt now (the
   * delivery is back at the head of the queue, unattempted).
   */
  private async attempt(
    delivery: ClaimedDelivery,
    conn: OutboundConnection | null,
    reserved: Reserved | null,
  ): Promise<{ conn: OutboundConnection | null; stop: boolean }> {
    const message = await this.host.message(delivery, this.infra).catch((err) => {
      if (reserved) this.release(reserved, null);
      throw err;
    });
    if (!message) {
      if (reserved) this.release(reserved, null);
      this.host.finish(delivery, { code: 554, enhanced: '5.3.0', text: '554 5.3.0 message body missing from the spool' });
      return { conn, stop: false };
    }
    if (conn && !conn.usable) {
      conn.close();
      conn = null;
    }
    if (conn && reserved) this.release(reserved, null);
    if (!conn) {
      const opened = await this.connect(reserved);
      if (!opened.ok) {
        if (opened.gated) {
          this.pending.unshift(delivery);
          return { conn: null, stop: true };
        }
        // The hops' health counts the failure: a hop failing repeatedly is marked down, and
        // every queue routed through it hands its deliveries back to the spool.
        this.host.finish(delivery, opened.reply);
        return { conn: null, stop: false };
      }
      conn = opened.connection;
    }
    const from = asciiAddress(message.mailFrom);
    const to = asciiAddress(delivery.recipient);
    const tried = new Set<string>();
    let session: OutboundConnection = conn;
    for (;;) {
      tried.add(hopKey(session.hop));
      if (!session.smtpUtf8 && (nonAscii(from) || nonAscii(to))) {
        // It may leave later, or through another infrastructure whose relay offers SMTPUTF8.
        this.host.finish(delivery, needsSmtpUtf8, { kind: 'deferred', category: 'protocol' }, session.tls);
        return { conn: session, stop: false };
      }
      const result: SendResult = await session.send(from, to, message.body);
      const other: OutboundConnection | null = transient(result) ? await this.nextMx(tried) : null;
      if (other) {
        // A temporary refusal at one MX host: the next one may take it now (RFC 5321 §5.1).
        session.close();
        session = other;
        continue;
      }
      this.host.finish(delivery, result.reply, undefined, session.tls);
      const reusable = result.ok || (result.connectionUsable && (await session.reset()));
      if (reusable) return { conn: session, stop: false };
      session.close();
      return { conn: null, stop: false };
    }
  }

  /** MX delivery: a connection to a host of the route not yet tried in this attempt, or null. */
  private async nextMx(tried: ReadonlySet<string>): Promise<OutboundConnection | null> {
    if (this.infra.deliveryMode !== 'mx') return null;
    const hops = this.destination.route?.hosts ?? [];
    if (hops.every((h) => tried.has(hopKey(h)))) return null;
    const opened = await this.connect(null, tried);
    return opened.ok ? opened.connection : null;
  }

  /**
   * A connection to the first hop of the route that is up and answers; hops marked down
   * are passed over. `gated` when a hop that is up could not take an attempt now.
   */
  private async connect(
    reserved: Reserved | null,
    skip: ReadonlySet<string> = new Set(),
  ): Promise<{ ok: true; connection: OutboundConnection } | { ok: false; gated: boolean; reply: SmtpReply }> {
    const rotation = this.rotation++;
    const hops = this.infra.deliveryMode === 'relay' ? relayHops(this.infra, rotation) : (this.destination.route?.hosts ?? []);
    const tried = new Set<string>(skip);
    let last: SmtpReply = { code: null, enhanced: null, text: 'no route to destination' };
    for (let hold = reserved ?? this.reserve(hops, this.host.clock.now(), tried); hold; hold = this.reserve(hops, this.host.clock.now(), tried)) {
      tried.add(hopKey(hold.hop));
      let opened: Awaited<ReturnType<typeof OutboundConnection.open>>;
      try {
        const tls = this.destination.route?.tls ?? this.rule.tls;
        opened = await OutboundConnection.open(hold.hop, this.host.connectionOptions(this.infra, rotation, hold.hop, tls));
      } catch (err) {
        this.release(hold, null);
        throw err;
      }
      // A server that talks but fails this infrastructure's TLS policy or login is not down for others.
      this.release(hold, opened.ok || opened.answered === true);
      if (opened.ok) return opened;
      // Refusals before a transaction starts (greeting, EHLO) say nothing of the message: defer.
      last = { code: null, enhanced: null, text: `${hold.hop.servername ?? hold.hop.host}:${hold.hop.port}: ${opened.reply.text}` };
    }
    // A hop not tried because others' attempts to it are in progress is worth waiting for:
    // the delivery goes back to the head of the queue, unattempted.
    const now = this.host.clock.now();
    const waitable = hops.some((h) => !tried.has(hopKey(h)) && !(this.host.peekHop(h)?.isDown(now) ?? false));
    return { ok: false, gated: tried.size === skip.size || waitable, reply: last };
  }
}

/** The domain as A-labels: IDN domains go out in punycode, which every server takes. */
function asciiAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  return `${address.slice(0, at)}@${asciiDomain(address.slice(at + 1)) || address.slice(at + 1)}`;
}

/** A refusal for now (4xx) by the server, not a broken session. */
function transient(result: SendResult): boolean {
  return !result.ok && result.reply.code !== null && result.reply.code >= 400 && result.reply.code < 500;
}

function nonAscii(address: string): boolean {
  return /[^\x00-\x7f]/.test(address);
}
