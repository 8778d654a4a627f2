import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { Clock } from '../../src/core/clock.ts';
import { Leadership } from '../../src/engine/leadership.ts';
import { NodeRegistry } from '../../src/engine/node-registry.ts';
import { SuspensionWatch } from '../../src/engine/suspension-watch.ts';
import { FencedError } from '../../src/store/fence.ts';
import type { LeaseRepository } from '../../src/store/lease-repository.ts';
import { createRepositories } from '../../src/store/repositories.ts';
import { testDatabases } from '../helpers/databases.ts';
import { messages, t0, useFixture } from '../store/fixtures.ts';
import { published } from '../store/program-fixtures.ts';

const log = pino({ level: 'silent' });

function manualClock(start: number): Clock & { at: number } {
  const clock = { at: start, now: () => clock.at, sleep: async () => undefined };
  return clock;
}

/** A Leadership whose rounds the test runs by hand, recording what its hooks were told. */
function candidate(leases: Pick<LeaseRepository, 'acquire' | 'renew' | 'release' | 'holds'>, clock: Clock, holder: string) {
  const told: string[] = [];
  const leadership = new Leadership(
    leases,
    clock,
    log,
    { holder, leaseMs: 15_000 },
    {
      elected: async (term) => void told.push(`elected ${term.epoch}`),
      deposed: async () => void told.push('deposed'),
    },
  );
  return { leadership, told };
}

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('one leader; a stalled one is taken over after its lease, and its late writes are refused', async () => {
      const fx = f();
      const clock = manualClock(t0);
      const a = candidate(fx.leases, clock, 'node-a');
      const b = candidate(fx.leases, clock, 'node-b');
      await a.leadership.round();
      await b.leadership.round();
      assert.deepEqual([a.told, b.told], [['elected 1'], []]);

      clock.at = t0 + 5_000;
      await a.leadership.round();
      await b.leadership.round();
      assert.deepEqual(b.told, [], 'renewed: no takeover');

      // a stalls (a long pause): no rounds for it; its lease ran out at t0 + 20 s.
      clock.at = t0 + 20_001;
      await b.leadership.round();
      assert.deepEqual(b.told, ['elected 2']);
      assert.equal(b.leadership.epoch, 2);

      // Still believing it leads, a writes: refused in the write's own transaction.
      const program = await published(fx);
      const [sw] = await fx.switches.switches(program.id);
      const late = createRepositories(fx.store, a.leadership.fence);
      await assert.rejects(late.switches.transition(sw!.id, 'scheduled', 'prechecking', clock.at), FencedError);
      assert.equal((await fx.switches.switches(program.id))[0]!.state, 'scheduled');
      assert.equal(await createRepositories(fx.store, b.leadership.fence).switches.transition(sw!.id, 'scheduled', 'prechecking', clock.at), true);

      // Its next round finds the lease gone and stops its work.
      await a.leadership.round();
      assert.deepEqual(a.told, ['elected 1', 'deposed']);
      assert.equal(a.leadership.leader, false);
      await assert.rejects(late.programs.setState(program.id, 'halted'), FencedError);

      // A clean stop hands the lease over at once.
      await b.leadership.stop();
      assert.deepEqual(b.told, ['elected 2', 'deposed']);
      await a.leadership.round();
      assert.deepEqual(a.told, ['elected 1', 'deposed', 'elected 3']);
    });

    test('a dead node’s claims are handed back by the next heartbeat of another, without waiting for their lease', async () => {
      const fx = f();
      const clock = manualClock(t0);
      await fx.nodes.register({ id: 'gone', host: 'vm', pid: 1, version: '0.1.0', roles: ['delivery'], startedAt: t0 });
      await fx.spool.commit(messages('m', fx.instance.id, 4), t0, t0 + 86_400_000);
      assert.equal((await fx.spool.claim(t0, 4, 'gone', 120_000)).length, 4);
      const dead: string[][] = [];
      const self = { id: 'self', host: 'vm', pid: 2, version: '0.1.0', roles: ['delivery' as const], startedAt: t0 };
      const registry = new NodeRegistry(fx.nodes, fx.spool, clock, log, { node: self, ttlMs: 10_000, onDead: async (ids) => void dead.push(ids) });
      await fx.nodes.register(self);
      clock.at = t0 + 5_000;
      await registry.beat();
      assert.deepEqual(dead, []);
      assert.equal((await fx.spool.claim(clock.at, 10, 'self', 120_000)).length, 0, 'still gone’s');

      clock.at = t0 + 10_001;
      await registry.beat();
      assert.deepEqual(dead, [['gone']]);
      assert.equal((await fx.spool.claim(clock.at, 10, 'self', 120_000)).length, 4, 'due again at once');
      // A node never reaps itself, even after a pause longer than its time to live.
      clock.at = t0 + 60_000;
      await registry.beat();
      const listed = await fx.nodes.list(clock.at, 0);
      assert.deepEqual(
        listed.map((n) => [n.id, n.stoppedAt === null]),
        [['self', true]],
      );
    });
  });
}

test('a leader that cannot reach the database steps down before its lease can expire', async () => {
  const clock = manualClock(t0);
  let failing = false;
  const leases = {
    acquire: async (_name: string, holder: string) => ({ holder, epoch: 7 }),
    renew: async () => {
      if (failing) throw new Error('connection refused');
      return true;
    },
    release: async () => undefined,
    holds: async () => true,
  };
  const a = candidate(leases, clock, 'node-a');
  await a.leadership.round();
  failing = true;
  clock.at = t0 + 5_000;
  await a.leadership.round();
  assert.deepEqual(a.told, ['elected 7'], 'one failed renewal is tried again');
  // Acting is allowed until a third of a lease before expiry (t0 + 10 s), never after.
  clock.at = t0 + 10_000;
  await a.leadership.round();
  assert.deepEqual(a.told, ['elected 7', 'deposed']);
});

test('suspensions made on another node reach this engine; a resume wakes it', async () => {
  let suspended: number[] = [3];
  const told: string[] = [];
  const watch = new SuspensionWatch(
    { suspendedIds: async () => suspended },
    { suspended: async (id) => void told.push(`suspended ${id}`), wake: () => void told.push('wake') },
    log,
    250,
  );
  await watch.look();
  assert.deepEqual(told, [], 'the first look learns what is already suspended');
  suspended = [3, 5];
  await watch.look();
  suspended = [5];
  await watch.look();
  await watch.look();
  assert.deepEqual(told, ['suspended 5', 'wake']);
});
