import type { Clock } from '../core/clock.ts';
import { grantSize, grantWait, TokenBucket, type Rate } from '../core/delivery/throttle.ts';
import { PeriodicTask } from './periodic-task.ts';

/** When the next send to one destination may go, under its rate rule. */
export interface RateGate {
  /**
   * Spends a token and returns 0; or returns the ms to wait before asking again, or a
   * promise that settles (never rejects) when asking again is worthwhile.
   */
  take(now: number): number | Promise<void>;
}

/** One of a destination's connection slots, held by a session while it runs. */
export interface ConnectionSlot {
  /** Taken over by another node (this one stalled past the slot's expiry): the session ends. */
  readonly lost: boolean;
  release(): void;
}

/** The connection slots of one destination. */
export interface SlotPool {
  /** A slot of at most `max` now, or null: then `wake` is called once asking again is worthwhile. */
  acquire(max: number, wake: () => void): ConnectionSlot | null;
}

/**
 * The rate and connection limits of destinations, keyed `<infrastructureId>:<domain>`:
 * held by this process alone (LocalLimits) or shared by every node on one database
 * (ClusterLimits). A destination queue still counts its own sessions against
 * `maxConnections`; the slots are what other nodes' sessions count against.
 */
export interface DestinationLimits {
  rate(key: string, rate: Rate): RateGate;
  slots(key: string): SlotPool;
  start(): void;
  /** Gives back what this node holds; its sessions have ended. */
  stop(): Promise<void>;
  /** Drops what nodes found dead (processes of this host that no longer run) still hold. */
  releaseNodes(nodeIds: readonly string[]): Promise<void>;
}

const localSlot: ConnectionSlot = { lost: false, release: () => undefined };

/** Limits of one process: a token bucket per destination, and no slots beyond the queue's own count. No I/O. */
export class LocalLimits implements DestinationLimits {
  rate(_key: string, rate: Rate): RateGate {
    return new TokenBucket(rate);
  }

  slots(): SlotPool {
    return { acquire: () => localSlot };
  }

  start(): void {}

  async stop(): Promise<void> {}

  async releaseNodes(): Promise<void> {}
}

/** What the cluster limits need of the database; LimitRepository has it. */
export interface LimitStore {
  takeTokens(key: string, wanted: number, rate: Rate, capacity: number, now: number): Promise<{ granted: number; tokens: number }>;
  returnTokens(key: string, count: number, rate: Rate, capacity: number, now: number): Promise<void>;
  acquireSlot(key: string, max: number, nodeId: string, now: number, expiresAt: number): Promise<number | null>;
  renewSlots(nodeId: string, expiresAt: number): Promise<{ key: string; slot: number }[]>;
  releaseSlots(nodeId: string, key: string, slots: readonly number[]): Promise<void>;
  releaseNode(nodeId: string): Promise<number>;
  prune(now: number): Promise<{ budgets: number; slots: number }>;
}

/** pino's Logger has it. */
export interface LimitLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ClusterLimitOptions {
  /** This node: the engine's `owner`. */
  nodeId: string;
  /** Unspent tokens of a grant go back after this long, so that none pile up (1 s). */
  grantTtlMs?: number;
  /** A fast rate's node waits up to this long for a whole grant to gather (50 ms). */
  maxGrantWaitMs?: number;
  /** A slot not renewed for this long may be taken by another node (15 s); renewed every third of it. */
  slotTtlMs?: number;
  /** While every slot is held elsewhere, asked again this often (250 ms). */
  slotPollMs?: number;
  /** Buckets full again and slots long expired are dropped this often (10 min). */
  pruneEveryMs?: number;
}

/** A database error is retried after this long, and logged. */
const failureBackoffMs = 1000;

/**
 * Limits shared by the nodes of a cluster through the database. A rate is a bucket there,
 * from which a node takes a grant of a few tokens in one statement and spends them
 * locally, so a send needs no round trip of its own; unspent tokens go back within a
 * second. A connection is one of `maxConnections` numbered slots, claimed in one statement
 * when a session starts and given back when it ends; held slots are renewed, and those
 * of a node that died expire and are taken over.
 */
export class ClusterLimits implements DestinationLimits {
  private readonly rates = new Map<string, SharedRate>();
  private readonly pools = new Map<string, SharedSlots>();
  private readonly pending = new Set<Promise<void>>();
  /** Renews the slots held (on the clock, as their expiry is) and now and then prunes. */
  private readonly renewal: PeriodicTask;
  private lastPrune = 0;
  stopped = false;
  /** Numbers slot claims, so a renewal only judges slots claimed before it. */
  epoch = 0;
  readonly nodeId: string;
  readonly grantTtlMs: number;
  readonly maxGrantWaitMs: number;
  readonly slotTtlMs: number;
  readonly slotPollMs: number;
  private readonly pruneEveryMs: number;

  constructor(
    readonly store: LimitStore,
    readonly clock: Clock,
    readonly log: LimitLog,
    options: ClusterLimitOptions,
  ) {
    this.nodeId = options.nodeId;
    this.grantTtlMs = options.grantTtlMs ?? 1000;
    this.maxGrantWaitMs = options.maxGrantWaitMs ?? 50;
    this.slotTtlMs = options.slotTtlMs ?? 15_000;
    this.slotPollMs = options.slotPollMs ?? 250;
    this.pruneEveryMs = options.pruneEveryMs ?? 600_000;
    const every = Math.max(100, Math.floor(this.slotTtlMs / 3));
    this.renewal = new PeriodicTask(() => this.renew(), log, {
      name: 'renewing connection slots',
      intervalMs: every,
      firstRunMs: every,
      sleep: (ms) => clock.sleep(ms),
      unref: true,
    });
  }

  rate(key: string, rate: Rate): RateGate {
    let gate = this.rates.get(key);
    if (!gate) {
      gate = new SharedRate(key, rate, this);
      this.rates.set(key, gate);
    }
    return gate;
  }

  slots(key: string): SlotPool {
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new SharedSlots(key, this);
      this.pools.set(key, pool);
    }
    return pool;
  }

  start(): void {
    this.stopped = false;
    this.renewal.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.renewal.stop();
    const now = this.clock.now();
    for (const gate of this.rates.values()) gate.giveBack(now);
    await Promise.allSettled([...this.pending]);
    for (const pool of this.pools.values()) pool.dropAll();
    try {
      await this.store.releaseNode(this.nodeId);
    } catch (err) {
      this.log.warn({ err }, 'giving back connection slots failed; they expire');
    }
  }

  async releaseNodes(nodeIds: readonly string[]): Promise<void> {
    for (const id of nodeIds) {
      if (id !== this.nodeId) await this.releaseNode(id);
    }
  }

  /** Drops every slot of a node found dead, for the others to take at once; returns how many. */
  releaseNode(nodeId: string): Promise<number> {
    return this.store.releaseNode(nodeId);
  }

  /** Runs a write in the background, logging its failure; `stop()` waits for it. */
  track(write: Promise<unknown>, failure: string): void {
    void this.watch(write).catch((err) => this.log.warn({ err }, failure));
  }

  /** A statement `stop()` waits for before it gives back what this node holds. */
  watch<T>(statement: Promise<T>): Promise<T> {
    const settled = statement.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return statement;
  }

  private async renew(): Promise<void> {
    const now = this.clock.now();
    try {
      if ([...this.pools.values()].some((p) => p.holding)) {
        const mark = this.epoch;
        const kept = await this.store.renewSlots(this.nodeId, now + this.slotTtlMs);
        const held = new Set(kept.map((s) => `${s.slot}|${s.key}`));
        for (const pool of this.pools.values()) pool.renewed(held, mark);
      }
      if (now - this.lastPrune >= this.pruneEveryMs) {
        this.lastPrune = now;
        await this.store.prune(now);
      }
    } catch (err) {
      this.log.warn({ err }, 'renewing connection slots failed');
    }
  }
}

/** A destination's rate: grants from the shared bucket, spent here. */
class SharedRate implements RateGate {
  private tokens = 0;
  private until = 0;
  /** Counts grants, so the give-back of an old one does not take a newer one's tokens. */
  private grants = 0;
  private fetching: Promise<void> | null = null;
  private retryAt = 0;
  private readonly capacity: number;
  private readonly size: number;

  constructor(
    private readonly key: string,
    private readonly rate: Rate,
    private readonly limits: ClusterLimits,
  ) {
    // As the local bucket: the burst is the rule's count.
    this.capacity = Math.max(1, rate.count);
    this.size = grantSize(this.capacity);
  }

  take(now: number): number | Promise<void> {
    if (this.tokens >= 1 && now < this.until) {
      this.tokens--;
      return 0;
    }
    if (this.tokens > 0) this.giveBack(now);
    if (this.fetching) return this.fetching;
    if (now < this.retryAt) return this.retryAt - now;
    this.fetching = this.fetch(now).finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }

  /** Unspent tokens go back to the bucket (it holds no more than its burst). */
  giveBack(now: number): void {
    const n = Math.floor(this.tokens);
    this.tokens = 0;
    if (n >= 1) this.limits.track(this.limits.store.returnTokens(this.key, n, this.rate, this.capacity, now), 'giving back rate tokens failed');
  }

  private async fetch(now: number): Promise<void> {
    const { store, clock } = this.limits;
    try {
      const grant = await this.limits.watch(store.takeTokens(this.key, this.size, this.rate, this.capacity, now));
      if (grant.granted > 0) {
        this.tokens = grant.granted;
        if (this.limits.stopped) return this.giveBack(now);
        // From the asking, not the answer: a slow answer shortens the grant, never lengthens it.
        this.until = now + this.limits.grantTtlMs;
        const id = ++this.grants;
        void clock.sleep(this.limits.grantTtlMs).then(() => {
          if (this.grants === id && this.tokens > 0) this.giveBack(clock.now());
        });
        return;
      }
      // Nodes waiting on one bucket ask at slightly different times, so that they seldom collide.
      const wait = grantWait(this.rate, grant.tokens, this.size, this.limits.maxGrantWaitMs);
      this.retryAt = now + Math.ceil(wait * (1 + Math.random() / 10));
    } catch (err) {
      this.limits.log.warn({ err, destination: this.key }, 'taking rate tokens failed');
      this.retryAt = clock.now() + failureBackoffMs;
    }
  }
}

interface HeldSlot extends ConnectionSlot {
  readonly slot: number;
  readonly epoch: number;
  lost: boolean;
}

/** A destination's connection slots that this node holds: in use by a session, or just freed. */
class SharedSlots implements SlotPool {
  /** Held, no session on them: reused at once (a session ending hands its slot to the next), else given back. */
  private free: HeldSlot[] = [];
  private readonly used = new Set<HeldSlot>();
  private asking = false;
  private polling = false;
  private flushing = false;
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly key: string,
    private readonly limits: ClusterLimits,
  ) {}

  get holding(): boolean {
    return this.free.length > 0 || this.used.size > 0;
  }

  acquire(max: number, wake: () => void): ConnectionSlot | null {
    const held = this.free.pop();
    if (held) {
      this.used.add(held);
      return held;
    }
    this.wakers.add(wake);
    this.ask(max);
    return null;
  }

  private ask(max: number): void {
    if (this.asking || this.polling || this.limits.stopped) return;
    this.asking = true;
    const { store, clock, nodeId, slotTtlMs } = this.limits;
    const now = clock.now();
    void this.limits.watch(store.acquireSlot(this.key, max, nodeId, now, now + slotTtlMs)).then(
      (slot) => {
        this.asking = false;
        if (slot === null) return this.poll(this.limits.slotPollMs);
        const held: HeldSlot = { slot, epoch: ++this.limits.epoch, lost: false, release: () => this.release(held) };
        this.free.push(held);
        // Used by a queue woken now, or given back.
        this.wake();
        this.flushSoon();
      },
      (err) => {
        this.asking = false;
        this.limits.log.warn({ err, destination: this.key }, 'claiming a connection slot failed');
        this.poll(failureBackoffMs);
      },
    );
  }

  private poll(ms: number): void {
    this.polling = true;
    void this.limits.clock.sleep(Math.ceil(ms * (1 + Math.random() / 5))).then(() => {
      this.polling = false;
      this.wake();
    });
  }

  private wake(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const w of wakers) w();
  }

  private release(held: HeldSlot): void {
    if (!this.used.delete(held) || held.lost) return;
    this.free.push(held);
    this.flushSoon();
  }

  /** Once the callers of this turn have had their chance to reuse them, free slots go back. */
  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      const slots = this.free.splice(0).map((h) => h.slot);
      if (slots.length === 0) return;
      this.limits.track(this.limits.store.releaseSlots(this.limits.nodeId, this.key, slots), 'giving back connection slots failed; they expire');
    });
  }

  /** After a renewal: slots claimed before it that it did not find were taken over. */
  renewed(held: ReadonlySet<string>, mark: number): void {
    const lost = (h: HeldSlot) => h.epoch <= mark && !held.has(`${h.slot}|${this.key}`);
    for (const h of this.used) {
      if (!lost(h)) continue;
      h.lost = true;
      this.used.delete(h);
      this.limits.log.warn({ destination: this.key, slot: h.slot }, 'a connection slot was taken over after it expired; its session ends');
    }
    this.free = this.free.filter((h) => !lost(h));
  }

  /** At stop: nothing held any longer (the node's rows are deleted together). */
  dropAll(): void {
    this.free = [];
    this.used.clear();
    this.wakers.clear();
  }
}
