import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Clock } from '../core/clock.ts';
import { openStore, type Store } from '../store/database.ts';
import { LimitRepository } from '../store/limit-repository.ts';
import { ClusterLimits, LocalLimits, type ConnectionSlot, type LimitStore, type RateGate, type SlotPool } from './cluster-limits.ts';

const t0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const key = '1:example.com';
const silent = { warn: () => undefined, error: () => undefined };

/** Time that moves only when told; sleeps end when it passes them. */
class ManualClock implements Clock {
  private t = t0;
  private sleepers: { at: number; wake: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ at: this.t + ms, wake }));
  }

  /** Moves on by `ms`, ends the sleeps due, and lets what they started run. */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.wake();
    await settle();
  }
}

/** Lets statements in flight (SQLite in memory) and their callbacks finish. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 30));
}

/** The repository, counting the statements each method runs. */
function counting(repo: LimitRepository): LimitStore & { calls: Map<string, unknown[][]> } {
  const calls = new Map<string, unknown[][]>();
  const wrap =
    <A extends unknown[], R>(name: string, f: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      calls.set(name, [...(calls.get(name) ?? []), args]);
      return f(...args);
    };
  return {
    calls,
    takeTokens: wrap('takeTokens', repo.takeTokens.bind(repo)),
    returnTokens: wrap('returnTokens', repo.returnTokens.bind(repo)),
    acquireSlot: wrap('acquireSlot', repo.acquireSlot.bind(repo)),
    renewSlots: wrap('renewSlots', repo.renewSlots.bind(repo)),
    releaseSlots: wrap('releaseSlots', repo.releaseSlots.bind(repo)),
    releaseNode: wrap('releaseNode', repo.releaseNode.bind(repo)),
    prune: wrap('prune', repo.prune.bind(repo)),
  };
}

/** Asks for a slot as a queue does: again whenever woken, until it has one. */
function asker(pool: SlotPool, max: number): { got: ConnectionSlot[]; ask(): void } {
  const got: ConnectionSlot[] = [];
  const ask = () => {
    const slot = pool.acquire(max, ask);
    if (slot) got.push(slot);
  };
  return { got, ask };
}

/** Takes from `gate` until it says wait; awaits grants on the way. Returns the tokens spent. */
async function drain(gate: RateGate, clock: Clock): Promise<{ spent: number; wait: number }> {
  let spent = 0;
  for (;;) {
    const r = gate.take(clock.now());
    if (typeof r !== 'number') {
      await r;
      continue;
    }
    if (r > 0) return { spent, wait: r };
    spent++;
  }
}

describe('LocalLimits', () => {
  it('is the process’s own token bucket, and grants every slot the queue asks for', () => {
    const limits = new LocalLimits();
    const gate = limits.rate(key, { count: 2, perMs: 1000 });
    assert.deepEqual([gate.take(t0), gate.take(t0), gate.take(t0)], [0, 0, 500]);
    const slot = limits.slots().acquire(1, () => assert.fail('no wait'));
    assert.ok(slot && !slot.lost);
  });
});

describe('ClusterLimits', () => {
  let store: Store;
  let repo: LimitRepository;
  let clock: ManualClock;
  const nodes: ClusterLimits[] = [];
  const node = (nodeId: string, db: LimitStore = repo) => {
    const limits = new ClusterLimits(db, clock, silent, { nodeId });
    limits.start();
    nodes.push(limits);
    return limits;
  };
  beforeEach(async () => {
    store = await openStore({ url: ':memory:' });
    repo = new LimitRepository(store.db, store.dialect);
    clock = new ManualClock();
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop();
    await store.close();
  });

  describe('rates', () => {
    it('a grant is spent locally: one statement for several sends', async () => {
      const db = counting(repo);
      // 300/s: a burst of 300, grants of 10.
      const gate = node('a', db).rate(key, { count: 300, perMs: 1000 });
      const first = gate.take(clock.now());
      assert.ok(first instanceof Promise, 'the first send waits for a grant');
      await first;
      for (let i = 0; i < 10; i++) assert.equal(gate.take(clock.now()), 0);
      assert.equal(db.calls.get('takeTokens')?.length, 1);
      assert.ok(gate.take(clock.now()) instanceof Promise, 'the eleventh asks for the next grant');
    });

    it('nodes share one bucket: their grants add up to the burst, then to the rate', async () => {
      const rate = { count: 20, perMs: 1000 };
      const gates = ['a', 'b', 'c'].map((id) => node(id).rate(key, rate));
      let spent = 0;
      for (const g of gates) spent += (await drain(g, clock)).spent;
      assert.equal(spent, 20, 'the burst, shared');
      await clock.advance(500);
      for (const g of gates) spent += (await drain(g, clock)).spent;
      assert.equal(spent, 30, 'half a second of 20/s more');
    });

    it('when the bucket is empty, a node waits until a token is there, without asking meanwhile', async () => {
      const db = counting(repo);
      const gate = node('a', db).rate(key, { count: 20, perMs: 1000 });
      const { spent, wait } = await drain(gate, clock);
      assert.equal(spent, 20);
      // One token at 20/s is 50 ms away; nodes spread their asks by up to a tenth.
      assert.ok(wait >= 50 && wait <= 55, `waits ${wait} ms`);
      const asked = db.calls.get('takeTokens')?.length;
      await clock.advance(20);
      assert.equal(gate.take(clock.now()), wait - 20);
      assert.equal(db.calls.get('takeTokens')?.length, asked, 'no statement while waiting');
      await clock.advance(wait - 20);
      const next = gate.take(clock.now());
      assert.ok(next instanceof Promise);
      await next;
      assert.equal(gate.take(clock.now()), 0);
    });

    it('unspent tokens go back after a second, for the other nodes', async () => {
      const db = counting(repo);
      const rate = { count: 300, perMs: 1000 };
      const a = node('a', db).rate(key, rate);
      await (a.take(clock.now()) as Promise<void>);
      assert.equal(a.take(clock.now()), 0);
      await clock.advance(1000);
      assert.deepEqual(
        db.calls.get('returnTokens')?.map((args) => args[1]),
        [9],
      );
      // All 300 of the burst are there for b at once: 290 left plus the 9 back (and 1 refilled since).
      const b = node('b').rate(key, rate);
      assert.equal((await drain(b, clock)).spent, 300);
    });

    it('stop gives back what the node holds', async () => {
      const db = counting(repo);
      const rate = { count: 300, perMs: 1000 };
      const a = node('a', db);
      const gate = a.rate(key, rate);
      await (gate.take(clock.now()) as Promise<void>);
      await a.stop();
      assert.deepEqual(
        db.calls.get('returnTokens')?.map((args) => args[1]),
        [10],
      );
    });
  });

  describe('connection slots', () => {
    it('a slot is asked for and the queue woken when it is granted; at most max are held by all nodes', async () => {
      const [a, b] = [asker(node('a').slots(key), 2), asker(node('b').slots(key), 2)];
      a.ask();
      b.ask();
      assert.deepEqual([a.got.length, b.got.length], [0, 0], 'asked for, not at hand');
      await settle();
      assert.deepEqual([a.got.length, b.got.length], [1, 1], 'taken when woken');
      assert.equal(await repo.heldSlots(key, clock.now()), 2);
      a.ask();
      await settle();
      assert.equal(a.got.length, 1, 'none free');
      // b's session ends; a, polling, gets its slot.
      b.got[0].release();
      await settle();
      assert.equal(await repo.heldSlots(key, clock.now()), 1);
      await clock.advance(300);
      assert.equal(a.got.length, 2);
      assert.equal(await repo.heldSlots(key, clock.now()), 2);
    });

    it('a session ending hands its slot to the next session of the node without a statement', async () => {
      const db = counting(repo);
      const pool = asker(node('a', db).slots(key), 4);
      pool.ask();
      await settle();
      pool.got[0].release();
      pool.ask();
      assert.equal(pool.got.length, 2, 'at once');
      await settle();
      assert.equal(db.calls.get('acquireSlot')?.length, 1);
      assert.equal(db.calls.get('releaseSlots'), undefined);
      pool.got[1].release();
      await settle();
      assert.equal(db.calls.get('releaseSlots')?.length, 1, 'given back once nobody took it');
      assert.equal(await repo.heldSlots(key, clock.now()), 0);
    });

    it('a slot granted when nobody takes it any more is given back', async () => {
      const pool = node('a').slots(key);
      assert.equal(
        pool.acquire(4, () => undefined),
        null,
      );
      await settle();
      assert.equal(await repo.heldSlots(key, clock.now()), 0);
    });

    it('held slots are renewed; one taken over after it expired is lost, and its session ends', async () => {
      const pool = asker(node('a').slots(key), 1);
      pool.ask();
      await settle();
      for (let i = 0; i < 3; i++) await clock.advance(5000);
      assert.equal(await repo.acquireSlot(key, 1, 'b', clock.now(), clock.now() + 15_000), null, 'renewed, so not expired');
      assert.equal(pool.got[0].lost, false);
      // a stalls past the expiry and b takes the slot over.
      await store.db.updateTable('connection_slots').set({ node_id: 'b' }).execute();
      await clock.advance(5000);
      assert.equal(pool.got[0].lost, true);
    });

    it('stop gives back every slot of the node; releaseNodes those of nodes found dead', async () => {
      const a = node('a');
      const pool = asker(a.slots(key), 3);
      pool.ask();
      await settle();
      assert.equal(pool.got.length, 1);
      await repo.acquireSlot(key, 3, 'dead', clock.now(), clock.now() + 15_000);
      assert.equal(await repo.heldSlots(key, clock.now()), 2);
      await a.releaseNodes(['dead', 'a']);
      assert.equal(await repo.heldSlots(key, clock.now()), 1, 'its own are kept');
      await a.stop();
      assert.equal(await repo.heldSlots(key, clock.now()), 0);
    });
  });
});
