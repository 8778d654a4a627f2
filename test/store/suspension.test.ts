import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { day, hour, message, messages, t0, useFixture } from './fixtures.ts';

const lease = 60_000;

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('suspend records when and why; suspending again reports the first time', async () => {
      const { suspensions, fleet, instance, other } = f();
      assert.deepEqual(await suspensions.suspend(instance.id, t0, 'upgrade wave 1'), { kind: 'suspended', at: t0 });
      const found = await fleet.findInstance({ id: instance.id });
      assert.deepEqual([found?.suspended, found?.suspendedAt, found?.suspendedReason], [true, t0, 'upgrade wave 1']);
      assert.equal((await fleet.findInstance({ id: other.id }))?.suspended, false);

      assert.deepEqual(await suspensions.suspend(instance.id, t0 + hour, 'again'), { kind: 'already-suspended', at: t0 });
      assert.equal((await fleet.findInstance({ id: instance.id }))?.suspendedReason, 'upgrade wave 1');
    });

    test('resume shifts expiry of pending deliveries by exactly the held time', async () => {
      const { spool, suspensions, fleet, instance, other } = f();
      const expiresAt = t0 + 2 * day;
      await spool.commit(messages('due', instance.id, 3), t0, expiresAt);
      await spool.commit(messages('theirs', other.id, 1), t0 + 2, expiresAt);
      // One delivery waits for a retry after the resume: held, but not released yet.
      const [first] = await spool.claim(t0, 1, 'w', lease);
      assert.equal(first?.instanceId, instance.id);
      const retryAt = t0 + 10 * hour;
      await spool.record([{ kind: 'deferred', delivery: first!, reply: '451', category: 'connection', at: t0 + 1, retryAt }]);

      const suspendedAt = t0 + hour;
      const resumedAt = suspendedAt + 5 * hour + 123;
      await suspensions.suspend(instance.id, suspendedAt, 'switch');
      assert.equal(await suspensions.heldCount(instance.id), 3);
      const result = await suspensions.resume(instance.id, resumedAt);
      assert.deepEqual(result, { kind: 'resumed', heldMs: 5 * hour + 123, released: 2 });

      const found = await fleet.findInstance({ id: instance.id });
      assert.deepEqual([found?.suspended, found?.suspendedAt, found?.suspendedReason], [false, null, null]);

      const now = await spool.claim(resumedAt, 10, 'w', lease);
      const mine = now.filter((d) => d.instanceId === instance.id);
      assert.equal(mine.length, 2);
      for (const d of mine) assert.equal(d.expiresAt, expiresAt + 5 * hour + 123);
      const theirs = now.filter((d) => d.instanceId === other.id);
      assert.deepEqual(
        theirs.map((d) => d.expiresAt),
        [expiresAt],
        'other instances keep their expiry',
      );

      // Leases of the deliveries claimed above have run out by then too.
      const retried = (await spool.claim(retryAt, 10, 'w', lease)).find((d) => d.id === first!.id);
      assert.ok(retried, 'the deferred delivery is due at its retry time');
      assert.equal(retried?.expiresAt, expiresAt + 5 * hour + 123);
    });

    test('final deliveries are not touched by resume', async () => {
      const { spool, suspensions, instance } = f();
      await spool.commit([message('m-1', instance.id, ['a@x.test', 'b@x.test'], { suppressed: { 'b@x.test': 'manual' } })], t0, t0 + day);
      const [d] = await spool.claim(t0, 10, 'w', lease);
      await spool.record([{ kind: 'delivered', delivery: d!, reply: '250', at: t0 + 1 }]);
      await suspensions.suspend(instance.id, t0 + 2, 'switch');
      assert.deepEqual(await suspensions.resume(instance.id, t0 + hour), { kind: 'resumed', heldMs: hour - 2, released: 0 });
      assert.deepEqual(
        (await spool.deliveriesOf('m-1')).map((r) => r.state),
        ['delivered', 'suppressed'],
      );
    });

    test('two suspensions add up; only held time counts', async () => {
      const { spool, suspensions, instance } = f();
      const expiresAt = t0 + day;
      await spool.commit(messages('m', instance.id, 1), t0, expiresAt);
      await suspensions.suspend(instance.id, t0 + 1_000, 'a');
      assert.deepEqual(await suspensions.resume(instance.id, t0 + 3_000), { kind: 'resumed', heldMs: 2_000, released: 1 });
      await suspensions.suspend(instance.id, t0 + 10_000, 'b');
      assert.deepEqual(await suspensions.resume(instance.id, t0 + 10_500), { kind: 'resumed', heldMs: 500, released: 1 });
      const [d] = await spool.claim(t0 + 10_500, 1, 'w', lease);
      assert.equal(d?.expiresAt, expiresAt + 2_500);
    });

    test('resume of an instance that is not suspended, and unknown ids', async () => {
      const { spool, suspensions, instance } = f();
      const expiresAt = t0 + day;
      await spool.commit(messages('m', instance.id, 1), t0, expiresAt);
      assert.deepEqual(await suspensions.resume(instance.id, t0 + hour), { kind: 'not-suspended' });
      const [d] = await spool.claim(t0 + hour, 1, 'w', lease);
      assert.equal(d?.expiresAt, expiresAt, 'nothing shifted');

      assert.deepEqual(await suspensions.suspend(999_999, t0, 'x'), { kind: 'not-found' });
      assert.deepEqual(await suspensions.resume(999_999, t0), { kind: 'not-found' });
    });

    test('heldCount counts the scheduled deliveries of one instance', async () => {
      const { spool, suspensions, instance, other } = f();
      await spool.commit(messages('a', instance.id, 4), t0, t0 + day);
      await spool.commit(messages('b', other.id, 2), t0, t0 + day);
      await spool.claim(t0, 1, 'w', lease);
      const inflight = await spool.countInflight(instance.id);
      assert.equal(await suspensions.heldCount(instance.id), 4 - inflight);
      assert.equal(await suspensions.heldCount(other.id), 2 - (1 - inflight));
      assert.equal(await suspensions.heldCount(999_999), 0);
    });
  });
}
