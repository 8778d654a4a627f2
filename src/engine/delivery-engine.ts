import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { BounceRule, SmtpReply } from '../core/delivery/bounce-rules.ts';
import { DestinationHealth, HopHealth, defaultHealthPolicy, routeDownUntil, type HealthPolicy } from '../core/delivery/destination-health.ts';
import type { Network } from '../core/net/ip-address.ts';
import { decideOutcome } from '../core/delivery/outcome.ts';
import type { RetryPolicy } from '../core/delivery/retry-schedule.ts';
import { shapingFor, type Infrastructure, type TlsPolicy } from '../core/fleet/fleet.ts';
import type { Metrics } from '../metrics.ts';
import type { OutboundOptions, TlsOutcome } from '../smtp/outbound-connection.ts';
import { GroupCommit } from '../spool/group-commit.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { ClaimedDelivery, Outcome, SpoolRepository } from '../store/spool-repository.ts';
import { DestinationQueue, type DestinationState, type ForcedOutcome, type QueueHost } from './destination-queue.ts';
import { asciiDomain, defaultLookupTimeoutMs, hopKey, resolveRoute, systemResolver, type Hop, type MxResolver, type Route } from './routes.ts';
import { parseRate } from '../core/delivery/throttle.ts';
import { mxMatches, type MtaStsPolicy } from '../core/delivery/mta-sts.ts';
import { LocalLimits, type DestinationLimits, type RateGate } from './cluster-limits.ts';
import { dkimSign, type SigningKey } from './dkim.ts';
import type { DeliveryFeedback, ReputationTally } from './delivery-feedback.ts';
import { withListUnsubscribe } from './list-unsubscribe.ts';
import { MessageCache } from './message-cache.ts';
import { PeriodicTask } from './periodic-task.ts';

export interface EngineOptions {
  owner: string;
  leaseMs: number;
  claimBatch: number;
  pollMs: number;
  maxOutboundConnections: number;
  retry: RetryPolicy;
  bounceRules?: readonly BounceRule[];
  /** TCP connect and greeting timeout (config.connectTimeoutMs). */
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** Deliveries held in memory in all (default 4 × claimBatch), per instance (claimBatch), per destination (200). */
  maxHeld?: number;
  maxHeldPerInstance?: number;
  maxHeldPerDestination?: number;
  /** When a next hop (or a domain whose DNS fails) is marked down, and for how long. */
  health?: HealthPolicy;
  /** Direct-MX delivery: reserved networks it may still reach, DNS, and the port (25). */
  mxAllowNetworks?: readonly Network[];
  resolver?: MxResolver;
  mxPort?: number;
  /** How long the DNS look-ups of one MX route may take before its delivery is deferred (5 s). */
  mxLookupTimeoutMs?: number;
  /**
   * Where the rate and connection limits of destinations are kept: in this process
   * (default), or shared by the nodes of a cluster (ClusterLimits, on PostgreSQL).
   */
  limits?: DestinationLimits;
  /** Opens a relay's sealed password (the secret key stays with the caller). */
  openSecret?: (sealed: string) => string;
  /** PEM certificates trusted for outbound TLS besides the system's roots. */
  tlsCa?: string;
  /** Recipient domains' MTA-STS policies, for infrastructures that enforce them. */
  mtaSts?: MtaStsSource;
  /**
   * The DKIM keys a message of an instance is signed with (its customer's verified domain
   * owning the From domain); none: sent unsigned. Default: nothing is signed.
   */
  signingKeys?: (instanceId: number, infra: Infrastructure, raw: Buffer) => Promise<SigningKey[]>;
  /** VERP return paths and one-click unsubscribe links per delivery; without it, messages leave as stored. */
  feedback?: DeliveryFeedback;
  /** Told of each delivery delivered or hard-bounced, for the reputation rates. */
  reputation?: ReputationTally;
}

export interface MtaStsSource {
  policy(domain: string): Promise<MtaStsPolicy | null>;
}

/** A destination: one (infrastructure, domain), whose queue, DNS health and MX route the engine keeps. */
interface Destination extends DestinationState {
  infrastructureId: number;
  domain: string;
}

/** Most down destinations named to the claim query; the rest are handed back as claimed. */
const maxSkippedDown = 100;

/** A next hop's health is forgotten once it is healthy and unused this long. */
const hopMemoryMs = 10 * 60_000;

/**
 * Claims due deliveries, routes each through its instance's infrastructure as it is *now*,
 * and records outcomes. Claims carry leases, so a crash leaves nothing locked for good.
 *
 * No tenant stalls another: what is held in memory is bounded per destination and per
 * instance (the rest waits in the spool), claims are shared out fairly, and so are
 * connection slots: one instance holds at most half of them (less when more instances
 * want them), and a freed slot goes to the instances waiting in turn. A next hop (a relay,
 * an MX address) that keeps failing to connect is marked down for every domain routed
 * through it, their deliveries handed back until a probe; until a hop answers, only a
 * few attempts to it are made at once.
 */
export class DeliveryEngine implements QueueHost {
  running = false;
  private readonly queues = new Map<string, DestinationQueue>();
  /** Rate limiters per (infrastructure, domain); they outlive idle queues. */
  private readonly rates = new Map<string, RateGate | null>();
  private readonly destinationLimits: DestinationLimits;
  private readonly infrastructures = new Map<number, Infrastructure>();
  private readonly names = new Map<number, string>();
  private readonly cache: MessageCache;
  private readonly outcomes: GroupCommit<Outcome>;
  private connections = 0;
  /** Connection slots held per instance, and the queues waiting for one, per instance in turn order. */
  private readonly connectionsByInstance = new Map<number, number>();
  private readonly waiting = new Map<number, Set<DestinationQueue>>();
  private granting = false;
  /** Health per next hop (`hopKey`), and the queues waiting for an attempt to one to settle. */
  private readonly hops = new Map<string, HopHealth>();
  private readonly hopWaiters = new Map<string, Set<DestinationQueue>>();
  /** Deliveries handed back to the spool, by due time, written together soon. */
  private readonly postponing = new Map<number, number[]>();
  private postponed: Promise<void> | null = null;
  /** Deliveries claimed by this engine and not yet finished, by id. */
  private readonly holding = new Map<number, ClaimedDelivery>();
  private readonly heldByInstance = new Map<number, number>();
  private readonly heldByMessage = new Map<string, number>();
  /** Whether the last claim skipped an instance or destination for being at its bound. */
  private skippedFull = false;
  private readonly destinations = new Map<string, Destination>();
  private readonly limits: { held: number; perInstance: number; perDestination: number; instanceShare: number; destinationShare: number };
  /** The claim loop: claims back to back while more is due, else polls; `wake()` cuts a wait short. */
  private readonly claims: PeriodicTask;
  /**
   * Deliveries can wait in memory longer than a lease (a slow rate, a slow receiver):
   * their leases are renewed so no other worker takes them meanwhile.
   */
  private readonly leases: PeriodicTask;

  constructor(
    private readonly spool: SpoolRepository,
    private readonly fleet: FleetRepository,
    readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: EngineOptions,
  ) {
    this.cache = new MessageCache(spool);
    this.destinationLimits = options.limits ?? new LocalLimits();
    this.outcomes = new GroupCommit((batch) => this.spool.record(batch), 1000, 10);
    const perInstance = options.maxHeldPerInstance ?? options.claimBatch;
    const perDestination = options.maxHeldPerDestination ?? options.claimBatch;
    this.limits = {
      held: options.maxHeld ?? options.claimBatch * 4,
      perInstance,
      perDestination,
      // One claim takes at most half a bound, so a claim never overshoots it and one busy
      // instance or destination leaves the other half of a claim to the rest.
      instanceShare: Math.max(1, Math.floor(perInstance / 2)),
      destinationShare: Math.max(1, Math.floor(perDestination / 2)),
    };
    this.claims = new PeriodicTask(() => this.claimDue(), log, { name: 'the claim loop', intervalMs: options.pollMs });
    const renewEvery = Math.max(1000, Math.floor(options.leaseMs / 3));
    this.leases = new PeriodicTask(() => this.renewLeases(), log, { name: 'renewing leases', intervalMs: renewEvery, firstRunMs: renewEvery, unref: true });
  }

  /**
   * Claim owners read `<host>:<pid>:<random>`. At start, claims of processes on this host
   * that no longer run (a crash) are handed back at once instead of after their leases.
   */
  async start(): Promise<void> {
    if (this.running) return;
    const host = this.options.owner.slice(0, this.options.owner.indexOf(':') + 1);
    const dead = (await this.spool.inflightOwners(host)).filter((o) => o !== this.options.owner && !processAlive(Number(o.split(':')[1])));
    const released = await this.spool.releaseOwners(dead, this.clock.now());
    if (released > 0) this.log.info({ released, owners: dead }, 'released the claims of a process that died');
    await this.destinationLimits.releaseNodes(dead);
    this.destinationLimits.start();
    this.running = true;
    this.claims.start();
    this.leases.start();
  }

  private async renewLeases(): Promise<void> {
    if (this.holding.size === 0) return;
    try {
      await this.spool.renew([...this.holding.keys()], this.options.owner, this.clock.now() + this.options.leaseMs);
    } catch (err) {
      this.log.warn({ err }, 'renewing leases failed');
    }
  }

  /** Messages just committed: their bodies are at hand, and they are due now. */
  accepted(messages: readonly { id: string; mailFrom: string; raw: Buffer; listUnsubscribe?: boolean }[]): void {
    for (const m of messages) this.cache.prime(m.id, m.mailFrom, m.raw, m.listUnsubscribe);
    this.wake();
  }

  /**
   * New work may be due (an injection, a resume): claim soon instead of at the next poll.
   * While deliveries are being sent, wakes within a few ms share one claim (one commit).
   */
  wake(): void {
    this.claims.wake(this.holding.size === 0 ? 0 : 15);
  }

  /** Stops claiming, hands back what was not started, lets sessions in progress finish. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const q of this.queues.values()) q.closeIdle();
    await Promise.all([this.leases.stop(), this.claims.stop()]);
    await this.releaseWhere(() => true);
    await this.postponed;
    const deadline = Date.now() + timeoutMs;
    while (this.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.postponed;
    await this.outcomes.flush();
    await this.destinationLimits.stop();
  }

  /** Deliveries of a suspended instance waiting in memory go back to the spool untouched. */
  async suspended(instanceId: number): Promise<void> {
    try {
      await this.releaseWhere((d) => d.instanceId === instanceId);
    } catch (err) {
      // Their leases still expire; a drain waiting on them rolls back rather than hangs.
      this.log.error({ err, instanceId }, 'handing back a suspended instance’s deliveries failed');
    }
  }

  /** One turn of the claim loop; returns how long to wait before the next. */
  private async claimDue(): Promise<number> {
    let claimed = { count: 0, more: false };
    const room = this.limits.held - this.holding.size;
    if (room > 0) {
      try {
        claimed = await this.claim(Math.min(room, this.options.claimBatch));
      } catch (err) {
        this.log.error({ err }, 'claiming deliveries failed');
      }
    }
    // More is due: claim again once sessions and listeners have had their turn (0).
    if (claimed.more && this.holding.size < this.limits.held) return 0;
    return claimed.count > 0 ? 50 : this.options.pollMs;
  }

  /** One fair claim; `more` when a share or the limit was used up, so more is likely due. */
  private async claim(limit: number): Promise<{ count: number; more: boolean }> {
    const now = this.clock.now();
    const skipped = this.skipped(now);
    this.skippedFull = skipped.full;
    const batch = await this.spool.claim(now, limit, this.options.owner, this.options.leaseMs, {
      perInstance: this.limits.instanceShare,
      perDestination: this.limits.destinationShare,
      skipInstances: skipped.skipInstances,
      skipDestinations: skipped.skipDestinations,
    });
    const unrouted: ClaimedDelivery[] = [];
    const down = new Map<number, ClaimedDelivery[]>();
    const perInstance = new Map<number, number>();
    const perDestination = new Map<string, number>();
    for (const d of batch) {
      // Our own lease ran out while our copy is still queued or sending (a slow session):
      // the claim is renewed, but sending it again would be a duplicate.
      if (this.holding.has(d.id)) continue;
      try {
        if (now >= d.expiresAt) {
          this.hold(d);
          this.finish(d, { code: null, enhanced: null, text: 'expired before it could be attempted' });
          continue;
        }
        const infra = await this.infrastructure(d.infrastructureId);
        const key = `${infra.id}|${d.domain}`;
        perInstance.set(d.instanceId, (perInstance.get(d.instanceId) ?? 0) + 1);
        perDestination.set(key, (perDestination.get(key) ?? 0) + 1);
        const destination = this.destination(infra.id, d.domain, key);
        const until = this.downUntil(infra, destination, now);
        if (until > 0) {
          // Beyond the destinations the query was told to skip (its domain, or every next
          // hop of its route, is down): straight back to the spool, no attempt burned.
          const ds = down.get(until);
          if (ds) ds.push(d);
          else down.set(until, [d]);
          continue;
        }
        let queue = this.queues.get(key);
        if (!queue) {
          const rule = shapingFor(infra.shaping, d.domain);
          const limitKey = `${infra.id}:${d.domain}`;
          if (!this.rates.has(key)) {
            const rate = rule.rate ? parseRate(rule.rate) : null;
            this.rates.set(key, rate?.ok ? this.destinationLimits.rate(limitKey, rate.rate) : null);
          }
          const limits = { rate: this.rates.get(key)!, slots: this.destinationLimits.slots(limitKey) };
          queue = new DestinationQueue(infra, d.domain, rule, limits, destination, this);
          this.queues.set(key, queue);
        }
        this.hold(d);
        queue.push(d);
      } catch (err) {
        // Not queued: hand it back so it is not held by nobody until its lease runs out.
        this.log.error({ err, delivery: d.id }, 'routing a delivery failed');
        unrouted.push(d);
      }
    }
    if (unrouted.length > 0)
      await this.spool.release(
        unrouted.map((d) => d.id),
        this.options.owner,
        now,
      );
    for (const [until, ds] of down)
      await this.spool.postpone(
        ds.map((d) => d.id),
        this.options.owner,
        now,
        until,
      );
    for (const [key, queue] of this.queues) if (queue.idle) this.queues.delete(key);
    for (const [key, dest] of this.destinations) {
      // Kept while its route is down or its slots are held elsewhere, so the next claims leave it in the spool.
      if (dest.health.healthy && !this.queues.has(key) && this.destinationDownUntil(dest, now) === 0 && !((dest.elsewhereUntil ?? 0) > now)) {
        this.destinations.delete(key);
      }
    }
    for (const [key, hop] of this.hops) if (hop.forgettable(now - hopMemoryMs) && !this.hopWaiters.has(key)) this.hops.delete(key);
    const more =
      batch.length >= limit ||
      [...perInstance.values()].some((n) => n >= this.limits.instanceShare) ||
      [...perDestination.values()].some((n) => n >= this.limits.destinationShare);
    return { count: batch.length, more };
  }

  /**
   * What the next claim leaves in the spool: instances and destinations that hold nearly
   * their bound already (a slow rate, a silent server), destinations marked down, and
   * those whose connection slots other nodes hold.
   */
  private skipped(now: number): { skipInstances: number[]; skipDestinations: { infrastructureId: number; domain: string }[]; full: boolean } {
    const skipInstances = [...this.heldByInstance].filter(([, n]) => n + this.limits.instanceShare > this.limits.perInstance).map(([id]) => id);
    const skipDestinations: { infrastructureId: number; domain: string }[] = [];
    let downs = 0;
    let fullDestinations = 0;
    for (const [key, dest] of this.destinations) {
      const full = (this.queues.get(key)?.held ?? 0) + this.limits.destinationShare > this.limits.perDestination;
      const down = downs < maxSkippedDown && (this.destinationDownUntil(dest, now) > 0 || (dest.elsewhereUntil ?? 0) > now) && ++downs > 0;
      if (full) fullDestinations++;
      if (full || down) skipDestinations.push({ infrastructureId: dest.infrastructureId, domain: dest.domain });
    }
    return { skipInstances, skipDestinations, full: skipInstances.length > 0 || fullDestinations > 0 };
  }

  /** When a destination may be tried again: 0 unless its domain, or every next hop of its route, is down. */
  private downUntil(infra: Infrastructure, dest: Destination, now: number): number {
    if (dest.health.isDown(now)) return dest.health.downUntil;
    const hops = infra.deliveryMode === 'relay' ? infra.relays : (dest.route?.hosts ?? []);
    return routeDownUntil(
      hops.map((h) => this.hops.get(hopKey(h))),
      now,
    );
  }

  private destinationDownUntil(dest: Destination, now: number): number {
    const infra = this.infrastructures.get(dest.infrastructureId);
    return infra ? this.downUntil(infra, dest, now) : dest.health.isDown(now) ? dest.health.downUntil : 0;
  }

  private destination(infrastructureId: number, domain: string, key: string): Destination {
    let dest = this.destinations.get(key);
    if (!dest) {
      dest = { infrastructureId, domain, health: new DestinationHealth(this.options.health ?? defaultHealthPolicy) };
      this.destinations.set(key, dest);
    }
    return dest;
  }

  private hold(d: ClaimedDelivery): void {
    this.holding.set(d.id, d);
    increment(this.heldByInstance, d.instanceId);
    increment(this.heldByMessage, d.messageId);
  }

  private unhold(id: number): void {
    const d = this.holding.get(id);
    if (!d) return;
    this.holding.delete(id);
    decrement(this.heldByInstance, d.instanceId);
    // Its last held delivery is done: a body kept until the cache fills would hold memory
    // long after a burst of large messages has left.
    if (decrement(this.heldByMessage, d.messageId) === 0) this.cache.forget(d.messageId);
    // The last claim left work in the spool because something was at its bound: with room
    // made, claim again soon rather than at the next poll.
    if (this.skippedFull) this.wake();
  }

  /** Destinations marked down now (the domain, or every next hop of its route), for operators and tests. */
  downDestinations(): { infrastructureId: number; domain: string; until: number }[] {
    const now = this.clock.now();
    return [...this.destinations.values()]
      .map((d) => ({ infrastructureId: d.infrastructureId, domain: d.domain, until: this.destinationDownUntil(d, now) }))
      .filter((d) => d.until > 0);
  }

  /** Next hops marked down now (`host:port`), for operators and tests. */
  downHops(): { hop: string; until: number }[] {
    const now = this.clock.now();
    return [...this.hops].filter(([, h]) => h.isDown(now)).map(([hop, h]) => ({ hop, until: h.downUntil }));
  }

  /** Connection slots held, in all and per instance. */
  connectionCounts(): { total: number; perInstance: Map<number, number> } {
    return { total: this.connections, perInstance: new Map(this.connectionsByInstance) };
  }

  /** Deliveries held in memory, in all and per instance. */
  heldCounts(): { total: number; perInstance: Map<number, number> } {
    return { total: this.holding.size, perInstance: new Map(this.heldByInstance) };
  }

  postpone(deliveries: ClaimedDelivery[], until: number): void {
    if (deliveries.length === 0) return;
    for (const d of deliveries) this.unhold(d.id);
    // A hop marked down stands down every queue routed through it at once: their hand-backs
    // share one write (one commit) instead of one each.
    const ids = this.postponing.get(until);
    if (ids) ids.push(...deliveries.map((d) => d.id));
    else
      this.postponing.set(
        until,
        deliveries.map((d) => d.id),
      );
    this.postponed ??= new Promise((r) => setImmediate(r)).then(() => this.flushPostponed());
  }

  private async flushPostponed(): Promise<void> {
    const batches = [...this.postponing];
    this.postponing.clear();
    this.postponed = null;
    const now = this.clock.now();
    for (const [until, ids] of batches) {
      try {
        await this.spool.postpone(ids, this.options.owner, now, until);
        this.log.info({ deliveries: ids.length, until: new Date(until).toISOString() }, 'deliveries handed back to the spool, unattempted');
      } catch (err) {
        // The leases expire and the deliveries come back all the same.
        this.log.error({ err }, 'handing back the deliveries of a destination marked down failed');
      }
    }
  }

  async route(infra: Infrastructure, domain: string, rotation: number): Promise<Route> {
    const route = await resolveRoute(infra, domain, rotation, {
      resolver: this.options.resolver ?? systemResolver,
      allowNetworks: this.options.mxAllowNetworks ?? [],
      mxPort: this.options.mxPort ?? 25,
      lookupTimeoutMs: this.options.mxLookupTimeoutMs ?? defaultLookupTimeoutMs,
    });
    const sts = infra.mtaSts && route.ok && this.options.mtaSts ? await this.options.mtaSts.policy(asciiDomain(domain)) : null;
    return route.ok && sts?.mode === 'enforce' ? enforceMtaSts(route.hosts, sts, domain) : route;
  }

  hop(hop: Hop): HopHealth {
    const key = hopKey(hop);
    let health = this.hops.get(key);
    if (!health) {
      health = new HopHealth(this.options.health ?? defaultHealthPolicy);
      this.hops.set(key, health);
    }
    return health;
  }

  peekHop(hop: Hop): HopHealth | undefined {
    return this.hops.get(hopKey(hop));
  }

  waitForHop(queue: DestinationQueue, hops: readonly Hop[]): void {
    for (const hop of hops) {
      const key = hopKey(hop);
      let queues = this.hopWaiters.get(key);
      if (!queues) {
        queues = new Set();
        this.hopWaiters.set(key, queues);
      }
      queues.add(queue);
    }
  }

  hopSettled(hop: Hop, down: boolean): void {
    const key = hopKey(hop);
    if (down) {
      // Every queue routed through it hands its deliveries back now, not at its next session.
      this.log.warn({ hop: key, until: new Date(this.hops.get(key)?.downUntil ?? 0).toISOString() }, 'next hop marked down');
      for (const q of this.queues.values()) q.spawn();
    }
    const queues = this.hopWaiters.get(key);
    if (!queues) return;
    this.hopWaiters.delete(key);
    for (const q of queues) q.spawn();
  }

  private async releaseWhere(match: (d: ClaimedDelivery) => boolean): Promise<void> {
    const taken = [...this.queues.values()].flatMap((q) => q.withdraw(match));
    if (taken.length === 0) return;
    for (const d of taken) this.unhold(d.id);
    await this.spool.release(
      taken.map((d) => d.id),
      this.options.owner,
      this.clock.now(),
    );
  }

  private async infrastructure(id: number): Promise<Infrastructure> {
    let infra = this.infrastructures.get(id);
    if (!infra) {
      infra = await this.fleet.findInfrastructure({ id });
      if (!infra) throw new Error(`infrastructure ${id} vanished`);
      this.infrastructures.set(id, infra);
    }
    return infra;
  }

  connectionOptions(infra: Infrastructure, rotation: number, hop?: Hop, tls?: TlsPolicy): OutboundOptions {
    const sources = infra.sourceAddresses;
    const login = hop?.login;
    return {
      heloName: infra.heloName,
      localAddress: sources.length > 0 ? sources[rotation % sources.length] : undefined,
      connectionTimeoutMs: this.options.connectionTimeoutMs ?? 30_000,
      socketTimeoutMs: this.options.socketTimeoutMs ?? 300_000,
      tls: tls ?? infra.tls,
      ca: this.options.tlsCa,
      ...(login ? { login: { user: login.user, password: this.openPassword(login.sealedPassword) } } : {}),
    };
  }

  private openPassword(sealed: string): string {
    if (!this.options.openSecret) throw new Error('a relay login needs the secret key to open its password');
    return this.options.openSecret(sealed);
  }

  /**
   * What one instance may hold: half the slots, so another always finds some free, or an
   * even share of them when more instances hold or want slots.
   */
  private instanceCap(instanceId: number): number {
    const max = this.options.maxOutboundConnections;
    const active = new Set([...this.connectionsByInstance.keys(), ...this.waiting.keys(), instanceId]).size;
    return Math.max(1, Math.min(Math.floor(max / 2), Math.floor(max / active)));
  }

  acquireConnection(instanceId: number, queue: DestinationQueue): 'ok' | 'instance' | 'full' {
    const verdict =
      this.connections >= this.options.maxOutboundConnections
        ? 'full'
        : (this.connectionsByInstance.get(instanceId) ?? 0) >= this.instanceCap(instanceId)
          ? 'instance'
          : 'ok';
    if (verdict !== 'ok') {
      // Connections kept idle give their slots back, so the line moves.
      for (const q of this.queues.values()) if (q !== queue) q.closeIdle();
      let queues = this.waiting.get(instanceId);
      if (!queues) {
        queues = new Set();
        this.waiting.set(instanceId, queues);
      }
      queues.add(queue);
      return verdict;
    }
    this.connections++;
    increment(this.connectionsByInstance, instanceId);
    return 'ok';
  }

  connectionWanted(): boolean {
    return this.waiting.size > 0;
  }

  releaseConnection(instanceId: number): void {
    this.connections--;
    decrement(this.connectionsByInstance, instanceId);
    this.grant();
  }

  transferConnection(from: number, to: number): boolean {
    if (from === to) return true;
    if ((this.connectionsByInstance.get(to) ?? 0) >= this.instanceCap(to)) return false;
    decrement(this.connectionsByInstance, from);
    increment(this.connectionsByInstance, to);
    this.grant();
    return true;
  }

  /**
   * Free slots go to the instances waiting, one at a time in turn (an instance served goes
   * to the back of the line), to the queue of that instance that has waited longest.
   */
  private grant(): void {
    if (this.granting) return;
    this.granting = true;
    try {
      for (let served = true; served && this.connections < this.options.maxOutboundConnections; ) {
        served = false;
        for (const id of [...this.waiting.keys()]) {
          if (this.connections >= this.options.maxOutboundConnections) break;
          const queues = this.waiting.get(id);
          if (!queues) continue;
          if ((this.connectionsByInstance.get(id) ?? 0) >= this.instanceCap(id)) continue;
          this.waiting.delete(id);
          const line = [...queues];
          let started = 0;
          while (line.length > 0 && started === 0) {
            const q = line.shift()!;
            started = q.spawn(id, 1);
            if (started > 0 && q.wants(id)) line.push(q);
          }
          if (started > 0) served = true;
          // Still waiting (a spawn that found no slot has put its queue back in line already).
          if (line.length > 0) {
            const again = this.waiting.get(id) ?? new Set<DestinationQueue>();
            this.waiting.delete(id);
            this.waiting.set(id, new Set([...line, ...again]));
          }
        }
      }
    } finally {
      this.granting = false;
    }
  }

  async message(delivery: ClaimedDelivery, infra: Infrastructure) {
    const m = await this.cache.get(delivery.messageId);
    if (!m) return undefined;
    const feedback = this.options.feedback;
    // The null sender (a bounce) stays null; anything else may take the delivery's VERP address.
    const mailFrom = (m.mailFrom !== '' && feedback?.returnPath(delivery, infra)) || m.mailFrom;
    if (feedback && m.listUnsubscribe) {
      // Header fields of this delivery alone, added before signing: the per-infrastructure signed copy does not fit.
      const raw = withListUnsubscribe(m.raw, feedback.unsubscribeLinks(delivery, infra));
      return { ...m, mailFrom, body: await this.signed(raw, delivery.instanceId, infra) };
    }
    // The promise is kept, so recipients of one message sent at once share one signature.
    let signed = m.signed.get(infra.id);
    if (!signed) {
      const signing = this.signed(m.raw, delivery.instanceId, infra);
      signed = signing;
      m.signed.set(infra.id, signing);
      // A failure is not kept: the next delivery of the message tries again.
      signing.catch(() => m.signed.get(infra.id) === signing && m.signed.delete(infra.id));
    }
    return { ...m, mailFrom, body: await signed };
  }

  /** `raw` with the DKIM signatures of the keys the instance's mail carries through `infra`. */
  private async signed(raw: Buffer, instanceId: number, infra: Infrastructure): Promise<Buffer> {
    const keys = (await this.options.signingKeys?.(instanceId, infra, raw)) ?? [];
    return dkimSign(raw, keys, this.clock.now());
  }

  failed(err: unknown): void {
    this.log.error({ err }, 'a delivery session failed');
  }

  finish(delivery: ClaimedDelivery, reply: SmtpReply, forced?: ForcedOutcome, tls?: TlsOutcome): void {
    const now = this.clock.now();
    const decision = forced
      ? this.forcedDecision(delivery, forced, now)
      : decideOutcome(reply, { attempts: delivery.attempts, expiresAt: delivery.expiresAt, now }, this.options.retry, this.options.bounceRules);
    const text = reply.text.slice(0, 1000);
    const session = tls === undefined ? {} : { tls };
    const outcome: Outcome =
      decision.kind === 'delivered'
        ? { kind: 'delivered', delivery, reply: text, at: now, ...session }
        : decision.kind === 'deferred'
          ? { kind: 'deferred', delivery, reply: text, category: decision.category, at: now, retryAt: decision.retryAt, ...session }
          : decision.kind === 'bounced'
            ? { kind: 'bounced', delivery, reply: text, category: decision.category, at: now, suppress: decision.suppress, ...session }
            : { kind: 'expired', delivery, reply: text, category: decision.category, at: now, ...session };
    this.record(outcome).catch((err) => this.log.error({ err }, 'after recording an outcome'));
  }

  /** A forced bounce is final; a forced deferral follows the retry schedule like any other. */
  private forcedDecision(delivery: ClaimedDelivery, forced: ForcedOutcome, now: number): ReturnType<typeof decideOutcome> {
    if (forced.kind === 'bounced') return { kind: 'bounced', category: forced.category, suppress: forced.suppress ?? false };
    const d = decideOutcome(
      { code: 451, enhanced: null, text: '' },
      { attempts: delivery.attempts, expiresAt: delivery.expiresAt, now },
      this.options.retry,
      [],
    );
    return d.kind === 'deferred' ? { ...d, category: forced.category } : d.kind === 'expired' ? { kind: 'expired', category: forced.category } : d;
  }

  private async record(outcome: Outcome): Promise<void> {
    try {
      await this.outcomes.submit(outcome);
    } catch (err) {
      // The lease expires and the delivery is attempted again: at least once, never lost.
      this.log.error({ err, delivery: outcome.delivery.id }, 'recording an outcome failed');
      return;
    } finally {
      // Held until the outcome is durable, so a claim renewed meanwhile is not sent again.
      this.unhold(outcome.delivery.id);
    }
    const d = outcome.delivery;
    const infra = this.infrastructures.get(d.infrastructureId)?.name ?? String(d.infrastructureId);
    const instance = await this.instanceName(d.instanceId);
    this.metrics.outcomes.inc({ instance, infrastructure: infra, outcome: outcome.kind });
    if (outcome.kind === 'delivered' || (outcome.kind === 'bounced' && outcome.suppress))
      this.options.reputation?.count(d.instanceId, d.infrastructureId, outcome.kind === 'delivered' ? 'delivered' : 'hardBounced', outcome.at);
    if (outcome.kind === 'delivered') this.metrics.latency.observe({ infrastructure: infra }, Math.max(0, outcome.at - d.createdAt) / 1000);
  }

  private async instanceName(id: number): Promise<string> {
    let name = this.names.get(id);
    if (!name) {
      name = (await this.fleet.findInstance({ id }))?.name ?? String(id);
      this.names.set(id, name);
    }
    return name;
  }
}

/**
 * RFC 8461 §4, enforce mode: only MX hosts the policy names, and only over TLS whose
 * certificate verifies for the host's name; none left is a deferral, not a bounce (§5).
 */
function enforceMtaSts(hosts: Hop[], policy: MtaStsPolicy, domain: string): Route {
  const allowed = hosts.filter((h) => h.servername !== undefined && policy.mx.some((p) => mxMatches(p, h.servername!)));
  if (allowed.length > 0) return { ok: true, hosts: allowed, tls: 'verify' };
  return {
    ok: false,
    permanent: false,
    reply: { code: null, enhanced: null, text: `MTA-STS: no MX host of ${domain} is one its policy names (${policy.mx.join(', ')})` },
  };
}

function increment<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Returns what is left; a count of zero is removed. */
function decrement<K>(counts: Map<K, number>, key: K): number {
  const n = (counts.get(key) ?? 1) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
  return n;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
