import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConsoleQueries } from '../../src/store/console-queries.ts';
import { testDatabases } from '../helpers/databases.ts';
import { hour, message, t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(`console queries on ${kind.name}`, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('timeline counts events per type in equal buckets; queue by domain; pending deliveries', async () => {
      const { store, events, spool, instance, blue, green } = f();
      const queries = new ConsoleQueries(store.db);
      // commit() records an `accepted` event per message at t0.
      await spool.commit(
        [message('m1', instance.id, ['a@example.com', 'b@example.com', 'c@example.org']), message('m2', instance.id, ['d@example.com'])],
        t0,
        t0 + 10 * hour,
      );
      await events.addEvents([
        { instanceId: instance.id, type: 'delivered', at: t0 + hour + 5, detail: { infrastructureId: blue.id } },
        { instanceId: instance.id, type: 'delivered', at: t0 + hour + 6, detail: { infrastructureId: green.id } },
        { instanceId: instance.id, type: 'bounced', at: t0 + 2 * hour, detail: { infrastructureId: green.id } },
        { instanceId: instance.id, type: 'upgrade.started', at: t0 + hour, detail: {} },
      ]);

      const buckets = await queries.timeline(t0, t0 + 3 * hour, hour);
      assert.deepEqual(
        buckets.map((b) => b.start),
        [t0, t0 + hour, t0 + 2 * hour],
      );
      assert.deepEqual(
        buckets.map((b) => [b.counts.accepted, b.counts.delivered, b.counts.bounced]),
        [
          [2, 0, 0],
          [0, 2, 0],
          [0, 0, 1],
        ],
      );

      assert.deepEqual(await queries.queueByDomain(10), [
        { domain: 'example.com', scheduled: 3, inflight: 0 },
        { domain: 'example.org', scheduled: 1, inflight: 0 },
      ]);
      const pending = await queries.pendingDeliveries(instance.id, 2);
      assert.deepEqual(
        pending.map((d) => [d.messageId, d.recipient, d.state]),
        [
          ['m1', 'a@example.com', 'scheduled'],
          ['m1', 'b@example.com', 'scheduled'],
        ],
      );

      const outcomes = await queries.outcomesByInfrastructure(t0 + hour);
      assert.deepEqual(outcomes.counts.get(blue.id), { delivered: 1, deferred: 0, bounced: 0 });
      assert.deepEqual(outcomes.counts.get(green.id), { delivered: 1, deferred: 0, bounced: 1 });
      assert.equal(outcomes.capped, false);
      assert.deepEqual(await queries.openSwitches(), []);
      assert.deepEqual(await queries.lastPrechecks(), []);
    });
  });
}
