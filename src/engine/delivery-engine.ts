import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { BounceRule, SmtpReply } from '../core/delivery/bounce-rules.ts';
import { decideOutcome } from '../core/delivery/outcome.ts';
import type { RetryPolicy } from '../core/delivery/retry-schedule.ts';
import { shapingFor, type Infrastructure } from '../core/fleet/fleet.ts';
import type { Metrics } from '../metrics.ts';
import type { OutboundOptions } from '../smtp/outbound-connection.ts';
import { GroupCommit } from '../spool/group-commit.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { ClaimedDelivery, Outcome, SpoolRepository } from '../store/spool-repository.ts';
import { DestinationQueue, type QueueHost } from './destination-queue.ts';
import { parseRate, TokenBucket } from '../core/delivery/throttle.ts';
import { dkimKeyFor, dkimSign } from './dkim.ts';
import { MessageCache } from './message-cache.ts';

export interface EngineOptions {
  owner: string;
  leaseMs: number;
  claimBatch: number;
  pollMs: number;
  maxOutboundConnections: number;
  retry: RetryPolicy;
  bounceRules?: readonly BounceRule[];
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
}

/**
 * Claims due deliveries, routes each through its instance's infrastructure as it is *now*,
 * and records outcomes. Claims carry leases, so a crash leaves nothing locked for good.
 */
export class DeliveryEngine implements QueueHost {
  running = false;
  private readonly queues = new Map<string, DestinationQueue>();
  /** Rate limiters per (infrastructure, domain); they outlive idle queues. */
  private readonly buckets = new Map<string, TokenBucket | null>();
  private leaseTimer: NodeJS.Timeout | null = null;
  private readonly infrastructures = new Map<number, Infrastructure>();
  private readonly names = new Map<number, string>();
  private readonly cache: MessageCache;
  private readonly outcomes: GroupCommit<Outcome>;
  private connections = 0;
  /** Ids claimed by this engine and not yet finished. */
  private readonly holding = new Set<number>();
  private wakeUp: (() => void) | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private woken = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly spool: SpoolRepository,
    private readonly fleet: FleetRepository,
    readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: EngineOptions,
  ) {
    this.cache = new MessageCache(spool);
    this.outcomes = new GroupCommit((batch) => this.spool.record(batch), 1000, 10);
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
    this.running = true;
    this.loop = this.run();
    // Deliveries can wait in memory longer than a lease (a slow rate, a slow receiver):
    // their leases are renewed so no other worker takes them meanwhile.
    this.leaseTimer = setInterval(() => void this.renewLeases(), Math.max(1000, Math.floor(this.options.leaseMs / 3)));
    this.leaseTimer.unref();
  }

  private async renewLeases(): Promise<void> {
    if (this.holding.size === 0) return;
    try {
      await this.spool.renew([...this.holding], this.options.owner, this.clock.now() + this.options.leaseMs);
    } catch (err) {
      this.log.warn({ err }, 'renewing leases failed');
    }
  }

  /** Messages just committed: their bodies are at hand, and they are due now. */
  accepted(messages: readonly { id: string; mailFrom: string; raw: Buffer }[]): void {
    for (const m of messages) this.cache.prime(m.id, m.mailFrom, m.raw);
    this.wake();
  }

  /**
   * New work may be due (an injection, a resume): claim soon instead of at the next poll.
   * While deliveries are being sent, wakes within a few ms share one claim (one commit).
   */
  wake(): void {
    if (this.holding.size === 0) return this.wakeNow();
    this.wakeTimer ??= setTimeout(() => {
      this.wakeTimer = null;
      this.wakeNow();
    }, 15);
  }

  private wakeNow(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming, hands back what was not started, lets sessions in progress finish. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.wakeNow();
    await this.loop;
    await this.releaseWhere(() => true);
    const deadline = Date.now() + timeoutMs;
    while (this.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.outcomes.flush();
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

  private async run(): Promise<void> {
    while (this.running) {
      let claimedNow = 0;
      const room = this.options.claimBatch * 2 - this.holding.size;
      if (room > 0) {
        try {
          claimedNow = await this.claim(Math.min(room, this.options.claimBatch));
        } catch (err) {
          this.log.error({ err }, 'claiming deliveries failed');
        }
      }
      if (claimedNow === this.options.claimBatch && this.holding.size < this.options.claimBatch * 2) continue;
      await this.idle(claimedNow > 0 ? 50 : this.options.pollMs);
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async claim(limit: number): Promise<number> {
    const now = this.clock.now();
    const batch = await this.spool.claim(now, limit, this.options.owner, this.options.leaseMs);
    const unrouted: ClaimedDelivery[] = [];
    for (const d of batch) {
      // Our own lease ran out while our copy is still queued or sending (a slow session):
      // the claim is renewed, but sending it again would be a duplicate.
      if (this.holding.has(d.id)) continue;
      try {
        if (now >= d.expiresAt) {
          this.holding.add(d.id);
          this.finish(d, { code: null, enhanced: null, text: 'expired before it could be attempted' });
          continue;
        }
        const infra = await this.infrastructure(d.infrastructureId);
        const key = `${infra.id}|${d.domain}`;
        let queue = this.queues.get(key);
        if (!queue) {
          const rule = shapingFor(infra.shaping, d.domain);
          if (!this.buckets.has(key)) {
            const rate = rule.rate ? parseRate(rule.rate) : null;
            this.buckets.set(key, rate && rate.ok ? new TokenBucket(rate.rate) : null);
          }
          queue = new DestinationQueue(infra, d.domain, rule, this.buckets.get(key)!, this);
          this.queues.set(key, queue);
        }
        this.holding.add(d.id);
        queue.push(d);
      } catch (err) {
        // Not queued: hand it back so it is not held by nobody until its lease runs out.
        this.log.error({ err, delivery: d.id }, 'routing a delivery failed');
        unrouted.push(d);
      }
    }
    if (unrouted.length > 0) await this.spool.release(unrouted.map((d) => d.id), this.options.owner, now);
    for (const [key, queue] of this.queues) if (queue.idle) this.queues.delete(key);
    return batch.length;
  }

  private async releaseWhere(match: (d: ClaimedDelivery) => boolean): Promise<void> {
    const taken = [...this.queues.values()].flatMap((q) => q.withdraw(match));
    if (taken.length === 0) return;
    for (const d of taken) this.holding.delete(d.id);
    await this.spool.release(taken.map((d) => d.id), this.options.owner, this.clock.now());
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

  connectionOptions(infra: Infrastructure, rotation: number): OutboundOptions {
    const sources = infra.sourceAddresses;
    return {
      heloName: infra.heloName,
      localAddress: sources.length > 0 ? sources[rotation % sources.length] : undefined,
      connectionTimeoutMs: this.options.connectionTimeoutMs ?? 30_000,
      socketTimeoutMs: this.options.socketTimeoutMs ?? 300_000,
    };
  }

  acquireConnection(): boolean {
    if (this.connections >= this.options.maxOutboundConnections) return false;
    this.connections++;
    return true;
  }

  releaseConnection(): void {
    this.connections--;
    // A freed slot may let another destination's queue start a session.
    for (const q of this.queues.values()) q.spawn();
  }

  async message(delivery: ClaimedDelivery, infra: Infrastructure) {
    const m = await this.cache.get(delivery.messageId);
    if (!m) return undefined;
    let body = m.signed.get(infra.id);
    if (!body) {
      const key = dkimKeyFor(infra.dkim, m.raw);
      body = key ? await dkimSign(m.raw, key) : m.raw;
      m.signed.set(infra.id, body);
    }
    return { ...m, body };
  }

  failed(err: unknown): void {
    this.log.error({ err }, 'a delivery session failed');
  }

  finish(delivery: ClaimedDelivery, reply: SmtpReply): void {
    const now = this.clock.now();
    const decision = decideOutcome(reply, { attempts: delivery.attempts, expiresAt: delivery.expiresAt, now }, this.options.retry, this.options.bounceRules);
    const text = reply.text.slice(0, 1000);
    const outcome: Outcome =
      decision.kind === 'delivered'
        ? { kind: 'delivered', delivery, reply: text, at: now }
        : decision.kind === 'deferred'
          ? { kind: 'deferred', delivery, reply: text, category: decision.category, at: now, retryAt: decision.retryAt }
          : decision.kind === 'bounced'
            ? { kind: 'bounced', delivery, reply: text, category: decision.category, at: now, suppress: decision.suppress }
            : { kind: 'expired', delivery, reply: text, category: decision.category, at: now };
    this.record(outcome).catch((err) => this.log.error({ err }, 'after recording an outcome'));
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
      this.holding.delete(outcome.delivery.id);
    }
    const d = outcome.delivery;
    const infra = this.infrastructures.get(d.infrastructureId)?.name ?? String(d.infrastructureId);
    const instance = await this.instanceName(d.instanceId);
    this.metrics.outcomes.inc({ instance, infrastructure: infra, outcome: outcome.kind });
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

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
