import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FencedError, type Fence } from '../../src/store/fence.ts';
import { createRepositories } from '../../src/store/repositories.ts';
import { testDatabases } from '../helpers/databases.ts';
import { messages, t0, useFixture } from './fixtures.ts';
import { published } from './program-fixtures.ts';

const startedNotice = (programId: number, customerId: number) => ({
  programId,
  customerId,
  email: 'ops@acme.test',
  locale: 'en',
  timezone: 'UTC',
  kind: 'started' as const,
  waveIdx: 0,
  dueAt: t0,
  detail: {},
});

const node = (id: string, startedAt = t0) => ({ id, host: 'vm', pid: 42, version: '0.1.0', roles: ['smtp', 'delivery'] as const, startedAt });

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('nodes: registered, seen, listed with their claims; the unseen are reaped once and their claims handed back', async () => {
      const fx = f();
      await fx.nodes.register(node('a'));
      await fx.nodes.register(node('b'));
      await fx.spool.commit(messages('m', fx.instance.id, 5), t0, t0 + 86_400_000);
      assert.equal((await fx.spool.claim(t0, 3, 'b', 60_000)).length, 3);
      await fx.nodes.heartbeat('a', t0 + 9_000);

      const listed = await fx.nodes.list(t0 + 9_000, 3_600_000);
      assert.deepEqual(
        listed.map((n) => [n.id, n.roles, n.lastSeenAt, n.stoppedAt, n.claims]),
        [
          ['a', ['smtp', 'delivery'], t0 + 9_000, null, 0],
          ['b', ['smtp', 'delivery'], t0, null, 3],
        ],
      );
      assert.deepEqual(await fx.nodes.reapDead(t0 + 9_000, 10_000), [], 'b is within its time to live');
      assert.deepEqual(await fx.nodes.reapDead(t0 + 10_001, 10_000), ['b']);
      assert.deepEqual(await fx.nodes.reapDead(t0 + 10_002, 10_000), [], 'reaped once');
      assert.equal(await fx.spool.releaseOwners(['b'], t0 + 10_001), 3);
      // Due again at once, long before the 60 s lease would have run out.
      assert.equal((await fx.spool.claim(t0 + 10_002, 10, 'a', 60_000)).length, 5);

      // A node found dead that heartbeats again (it was paused) comes back.
      await fx.nodes.heartbeat('b', t0 + 11_000);
      assert.equal((await fx.nodes.list(t0 + 11_000, 0)).find((n) => n.id === 'b')?.stoppedAt, null);
      await fx.nodes.stopped('a', t0 + 12_000);
      assert.deepEqual(
        (await fx.nodes.list(t0 + 12_000 + 3_600_001, 3_600_000)).map((n) => n.id),
        ['b'],
        'a node stopped long ago is no longer listed',
      );
      assert.equal(await fx.nodes.forgetStopped(t0 + 12_001), 1);
    });

    test("a dead node's claims, handed back, go before deliveries accepted while it was dying", async () => {
      const fx = f();
      await fx.spool.commit(messages('early', fx.instance.id, 3), t0, t0 + 86_400_000);
      assert.equal((await fx.spool.claim(t0, 3, 'b', 60_000)).length, 3);
      await fx.spool.commit(messages('later', fx.instance.id, 5), t0 + 5_000, t0 + 86_400_000);
      assert.equal(await fx.spool.releaseOwners(['b'], t0 + 10_001), 3);
      const next = await fx.spool.claim(t0 + 10_002, 3, 'a', 60_000);
      assert.deepEqual(next.map((d) => d.messageId).sort(), ['early-0', 'early-1', 'early-2']);
    });

    test('leases: taken when free, renewed by the holder only, taken over after expiry with a higher epoch', async () => {
      const { leases } = f();
      const a = await leases.acquire('leader', 'a', t0, 15_000);
      assert.deepEqual(a, { holder: 'a', epoch: 1 });
      assert.equal(await leases.acquire('leader', 'b', t0 + 14_000, 15_000), null, 'held by a');
      assert.equal(await leases.renew('leader', a!, t0 + 5_000, 15_000), true);
      assert.equal(await leases.acquire('leader', 'b', t0 + 19_000, 15_000), null, 'renewed until t0 + 20 s');
      const b = await leases.acquire('leader', 'b', t0 + 20_001, 15_000);
      assert.deepEqual(b, { holder: 'b', epoch: 2 });
      assert.equal(await leases.renew('leader', a!, t0 + 20_002, 15_000), false, 'a was deposed');
      assert.deepEqual(await leases.current('leader'), { holder: 'b', epoch: 2, expiresAt: t0 + 35_001 });
      await leases.release('leader', b!);
      assert.deepEqual(await leases.acquire('leader', 'a', t0 + 21_000, 15_000), { holder: 'a', epoch: 3 }, 'released: taken at once');
    });

    test('fencing: a deposed leader’s step, notice and cursor writes are refused and change nothing', async () => {
      const fx = f();
      const program = await published(fx);
      const [sw] = await fx.switches.switches(program.id);
      const a = (await fx.leases.acquire('leader', 'a', t0, 15_000))!;
      let term = a;
      const fence: Fence = {
        check: async (trx) => {
          if (!(await fx.leases.holds(trx, 'leader', term))) throw new FencedError('deposed');
        },
      };
      const leader = createRepositories(fx.store, fence);
      assert.equal(await leader.switches.transition(sw!.id, 'scheduled', 'prechecking', t0 + 1), true, 'a leads');

      const b = (await fx.leases.acquire('leader', 'b', t0 + 15_001, 15_000))!;
      await assert.rejects(leader.switches.transition(sw!.id, 'prechecking', 'suspending', t0 + 15_002), FencedError);
      await assert.rejects(leader.programs.setState(program.id, 'halted', 'late'), FencedError);
      await assert.rejects(leader.notices.addNotices([startedNotice(program.id, fx.instance.customerId)]), FencedError);
      const [after] = await fx.switches.switches(program.id);
      assert.equal(after!.state, 'prechecking', 'the late step was not applied');
      assert.equal((await fx.programs.find({ id: program.id }))!.state, 'published', 'not halted by the late write');
      assert.equal((await fx.notices.notices({ programId: program.id })).filter((n) => n.kind === 'started').length, 0);

      term = b;
      assert.equal(await leader.switches.transition(sw!.id, 'prechecking', 'suspending', t0 + 15_003), true, 'the new term writes');
    });

    test('notices: claimed by one sender at a time; an expired claim may be taken again', async () => {
      const fx = f();
      const program = await published(fx);
      await fx.notices.addNotices([startedNotice(program.id, fx.instance.customerId)]);
      const [n] = await fx.notices.dueNotices(t0, 10);
      assert.equal(await fx.notices.claimNotice(n!.id, 'a', t0, 120_000), true);
      assert.equal(await fx.notices.claimNotice(n!.id, 'b', t0 + 1, 120_000), false, 'a holds it');
      assert.deepEqual(await fx.notices.dueNotices(t0 + 1, 10), [], 'not due to others while claimed');
      assert.equal(await fx.notices.claimNotice(n!.id, 'b', t0 + 120_001, 120_000), true, 'a died after claiming');
      await fx.notices.noticeSent(n!.id, 'subject', 'body', 'msg-1', t0 + 120_002);
      assert.equal(await fx.notices.claimNotice(n!.id, 'a', t0 + 500_000, 120_000), false, 'sent: never again');
    });
  });
}
