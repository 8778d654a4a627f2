import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { claimAffinityMs, SpoolRepository } from '../../src/store/spool-repository.ts';
import { testDatabases } from '../helpers/databases.ts';
import { day, ids, message, messages, t0, useFixture } from './fixtures.ts';

const lease = 60_000;

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('claim takes only due deliveries, at most `limit`, and marks them inflight', async () => {
      const { spool, instance, blue } = f();
      await spool.commit(messages('now', instance.id, 5), t0, t0 + day);
      await spool.commit(messages('later', instance.id, 3), t0 + 10_000, t0 + day);

      const first = await spool.claim(t0 + 5_000, 3, 'worker-a', lease);
      assert.equal(first.length, 3);
      for (const d of first) {
        assert.match(d.messageId, /^now-/);
        assert.equal(d.instanceId, instance.id);
        assert.equal(d.infrastructureId, blue.id);
        assert.equal(d.attempts, 0);
        assert.equal(d.createdAt, t0);
        assert.equal(d.expiresAt, t0 + day);
        assert.equal(d.domain, 'example.test');
        assert.match(d.recipient, /^user\d@example\.test$/);
        const [row] = await spool.deliveriesOf(d.messageId);
        assert.equal(row!.state, 'inflight');
      }
      const second = await spool.claim(t0 + 5_000, 10, 'worker-a', lease);
      assert.equal(second.length, 2, 'only the two remaining due deliveries');
      assert.ok(second.every((d) => d.messageId.startsWith('now-')));
      assert.equal(new Set([...ids(first), ...ids(second)]).size, 5);

      assert.deepEqual(await spool.claim(t0 + 5_000, 10, 'worker-b', lease), []);
      assert.equal(await spool.countInflight(instance.id), 5);
      assert.equal((await spool.deliveriesOf('later-0'))[0]!.state, 'scheduled');
    });

    test('a delivery due exactly now is claimed', async () => {
      const { spool, instance } = f();
      await spool.commit(messages('m', instance.id, 1), t0, t0 + day);
      assert.deepEqual(await spool.claim(t0 - 1, 10, 'w', lease), []);
      assert.equal((await spool.claim(t0, 10, 'w', lease)).length, 1);
    });

    test('a second claim at the same time gets nothing', async () => {
      const { spool, instance } = f();
      await spool.commit(messages('m', instance.id, 4), t0, t0 + day);
      assert.equal((await spool.claim(t0, 10, 'worker-a', lease)).length, 4);
      assert.deepEqual(await spool.claim(t0, 10, 'worker-b', lease), []);
      assert.deepEqual(await spool.claim(t0 + lease - 1, 10, 'worker-b', lease), []);
    });

    test('an expired lease makes the deliveries claimable again (crash recovery)', async () => {
      const { spool, instance } = f();
      await spool.commit(messages('m', instance.id, 3), t0, t0 + day);
      const claimed = await spool.claim(t0, 10, 'crashed', lease);
      assert.equal(claimed.length, 3);

      const recovered = await spool.claim(t0 + lease + 1, 10, 'survivor', lease);
      assert.deepEqual(ids(recovered), ids(claimed));
      assert.ok(
        recovered.every((d) => d.attempts === 0),
        'a crash burns no attempt',
      );
      assert.equal(await spool.countInflight(instance.id), 3);
      // The new lease runs from the recovery claim.
      assert.deepEqual(await spool.claim(t0 + lease + 2, 10, 'third', lease), []);
      assert.equal((await spool.claim(t0 + 2 * lease + 2, 10, 'third', lease)).length, 3);
    });

    test('deliveries of a suspended instance are never claimed', async () => {
      const { spool, suspensions, instance, other } = f();
      await spool.commit(messages('held', instance.id, 3), t0, t0 + day);
      await spool.commit(messages('free', other.id, 2), t0, t0 + day);
      await suspensions.suspend(instance.id, t0, 'upgrade');

      const claimed = await spool.claim(t0 + 1, 10, 'w', lease);
      assert.equal(claimed.length, 2);
      assert.ok(claimed.every((d) => d.instanceId === other.id));
      const late = await spool.claim(t0 + 10 * day, 10, 'w', lease);
      assert.ok(
        late.every((d) => d.instanceId === other.id),
        'still held, however late',
      );

      await suspensions.resume(instance.id, t0 + 10 * day);
      const released = await spool.claim(t0 + 10 * day, 10, 'w', lease);
      assert.equal(released.length, 3);
      assert.ok(released.every((d) => d.instanceId === instance.id));
    });

    test('claims route by the instance current infrastructure', async () => {
      const { spool, fleet, instance, other, blue, green } = f();
      await spool.commit([message('m-1', instance.id, ['a@example.test', 'b@example.test']), message('m-2', other.id, ['c@example.test'])], t0, t0 + day);
      await fleet.rebindInstance(instance.id, green.id);

      const claimed = await spool.claim(t0, 10, 'w', lease);
      assert.equal(claimed.length, 3);
      for (const d of claimed) assert.equal(d.infrastructureId, d.instanceId === instance.id ? green.id : blue.id);
    });

    test('a deferred delivery follows a rebind made while it waits', async () => {
      const { spool, fleet, instance, green } = f();
      await spool.commit(messages('m', instance.id, 1), t0, t0 + day);
      const [d] = await spool.claim(t0, 1, 'w', lease);
      await spool.record([{ kind: 'deferred', delivery: d!, reply: '451 try later', category: 'connection', at: t0 + 1, retryAt: t0 + 600_000 }]);
      await fleet.rebindInstance(instance.id, green.id);
      const [again] = await spool.claim(t0 + 600_000, 1, 'w', lease);
      assert.equal(again?.id, d!.id);
      assert.equal(again?.infrastructureId, green.id);
    });

    test('release puts inflight deliveries back, claimable at once, attempts unchanged', async () => {
      const { spool, instance } = f();
      await spool.commit(messages('m', instance.id, 3), t0, t0 + day);
      const [d0] = await spool.claim(t0, 1, 'w', lease);
      await spool.record([{ kind: 'deferred', delivery: d0!, reply: '421 busy', category: 'connection', at: t0, retryAt: t0 + 1_000 }]);
      const claimed = await spool.claim(t0 + 1_000, 10, 'w', lease);
      assert.equal(claimed.length, 3);

      const kept = claimed.find((d) => d.id !== d0!.id)!;
      const toRelease = claimed.filter((d) => d.id !== kept.id);
      await spool.release(
        toRelease.map((d) => d.id),
        'w',
        t0 + 2_000,
      );
      assert.equal(await spool.countInflight(instance.id), 1);
      for (const d of toRelease) {
        const [row] = await spool.deliveriesOf(d.messageId);
        assert.equal(row!.state, 'scheduled');
        assert.equal(row!.attempts, d.attempts);
      }
      const again = await spool.claim(t0 + 2_000, 10, 'w', lease);
      assert.deepEqual(ids(again), ids(toRelease));
      for (const d of again) assert.equal(d.attempts, toRelease.find((r) => r.id === d.id)!.attempts);
      assert.equal(again.find((d) => d.id === d0!.id)?.attempts, 1);
    });

    test('released deliveries go before deliveries accepted after them', async () => {
      const { spool, instance } = f();
      await spool.commit(messages('early', instance.id, 2), t0, t0 + day);
      const held = await spool.claim(t0, 2, 'w', lease);
      await spool.commit(messages('later', instance.id, 4), t0 + 1_000, t0 + day);
      await spool.release(
        held.map((d) => d.id),
        'w',
        t0 + 2_000,
      );
      const next = await spool.claim(t0 + 2_000, 2, 'v', lease);
      assert.deepEqual(next.map((d) => d.messageId).sort(), ['early-0', 'early-1']);
    });

    test('release leaves deliveries that are no longer inflight alone', async () => {
      const { spool, instance } = f();
      await spool.commit(messages('m', instance.id, 1), t0, t0 + day);
      const [d] = await spool.claim(t0, 1, 'w', lease);
      await spool.record([{ kind: 'delivered', delivery: d!, reply: '250 ok', at: t0 + 1 }]);
      await spool.release([d!.id], 'w', t0 + 2);
      assert.equal((await spool.deliveriesOf('m-0'))[0]!.state, 'delivered');
      assert.deepEqual(await spool.claim(t0 + day, 10, 'w', lease), []);
      await spool.release([], 'w', t0 + 3);
    });

    test('a worker whose lease expired can neither release nor record over the new holder', async () => {
      const { spool } = f();
      await spool.commit(messages('m', f().instance.id, 1), t0, t0 + day);
      const [stale] = await spool.claim(t0, 1, 'A', lease);
      const [current] = await spool.claim(t0 + lease + 1, 1, 'B', lease);
      assert.equal(current!.id, stale!.id);
      await spool.release([stale!.id], 'A', t0 + lease + 2);
      assert.deepEqual(await spool.claim(t0 + lease + 3, 10, 'C', lease), [], 'B still holds it');
      await spool.record([{ kind: 'bounced', delivery: stale!, reply: '550 late', category: 'other', at: t0 + lease + 4, suppress: true }]);
      await spool.record([{ kind: 'delivered', delivery: current!, reply: '250 ok', at: t0 + lease + 5 }]);
      const [row] = await spool.deliveriesOf(stale!.messageId);
      assert.equal(row!.state, 'delivered');
      assert.equal(row!.attempts, 1);
      const types = (await f().events.eventsForMessage(stale!.messageId)).map((e) => e.type);
      assert.deepEqual(types, ['accepted', 'delivered']);
    });

    test('queueCounts per instance and state; countInflight per instance', async () => {
      const { spool, instance, other } = f();
      await spool.commit([message('m-1', instance.id, ['a@x.test', 'b@x.test', 'c@x.test'], { suppressed: { 'c@x.test': 'manual' } })], t0, t0 + day);
      await spool.commit([message('m-2', other.id, ['d@x.test', 'e@x.test'])], t0 + 1, t0 + day);
      const claimed = await spool.claim(t0, 10, 'w', lease);
      assert.equal(claimed.length, 2);
      await spool.record([{ kind: 'delivered', delivery: claimed[0]!, reply: '250 ok', at: t0 + 2 }]);

      const counts = (await spool.queueCounts()).sort((a, b) => a.instanceId - b.instanceId || a.state.localeCompare(b.state));
      const expected = [
        { instanceId: instance.id, state: 'delivered', count: 1 },
        { instanceId: instance.id, state: 'inflight', count: 1 },
        { instanceId: instance.id, state: 'suppressed', count: 1 },
        { instanceId: other.id, state: 'scheduled', count: 2 },
      ].sort((a, b) => a.instanceId - b.instanceId || a.state.localeCompare(b.state));
      assert.deepEqual(counts, expected);
      assert.equal(await spool.countInflight(instance.id), 1);
      assert.equal(await spool.countInflight(other.id), 0);
      assert.equal(await spool.countInflight(999_999), 0);
    });

    test('concurrent claims never hand out the same delivery', async () => {
      const { spool, instance, other } = f();
      await spool.commit(messages('a', instance.id, 60), t0, t0 + day);
      await spool.commit(messages('b', other.id, 60), t0, t0 + day);
      const seen = new Set<number>();
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all([spool.claim(t0 + round, 15, `owner-a-${round}`, lease), spool.claim(t0 + round, 15, `owner-b-${round}`, lease)]);
        const all = results.flat().map((d) => d.id);
        assert.equal(new Set(all).size, all.length, `round ${round}: a delivery claimed twice`);
        for (const id of all) {
          assert.ok(!seen.has(id), `delivery ${id} claimed again while leased`);
          seen.add(id);
        }
        if (all.length === 0) break;
      }
      assert.equal(seen.size, 120, 'every delivery claimed exactly once');
    });

    test('in a cluster a delivery is the accepting node’s to claim for a moment, then anyone’s', async () => {
      const fx = f();
      const onNodeA = new SpoolRepository(fx.store.db, fx.store.dialect, 'node-a');
      await onNodeA.commit(messages('a', fx.instance.id, 3), t0, t0 + day);
      assert.deepEqual(await fx.spool.claim(t0 + 10, 10, 'node-b', lease), [], 'node-a holds the bodies');
      assert.equal((await fx.spool.claim(t0 + 10, 1, 'node-a', lease)).length, 1);
      const later = await fx.spool.claim(t0 + claimAffinityMs, 10, 'node-b', lease);
      assert.equal(later.length, 2, 'node-a did not take them in time: another node does');
    });
  });
}
