import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../core/errors.ts';
import { ConsoleQueries } from '../store/console-queries.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { hour, message, t0, useFixture } from '../../test/store/fixtures.ts';
import { ConsoleService } from './console-service.ts';
import { FleetService } from './fleet-service.ts';

for (const kind of testDatabases()) {
  describe(`ConsoleService over the console queries (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);
    let now = t0;
    const clock = { now: () => now, sleep: async () => undefined };
    const service = () => {
      const f = fixture();
      const fleet = new FleetService(f.fleet, f.suspensions, clock, { heloName: 'mta.test' });
      return { f, s: new ConsoleService({ reads: new ConsoleQueries(f.store.db), fleet: f.fleet, instances: fleet, held: f.suspensions }, clock), fleet };
    };

    test('the timeline ends now, in equal buckets', async () => {
      const { f, s } = service();
      now = t0;
      await f.spool.commit([message('m1', f.instance.id, ['a@example.com', 'b@example.com'])], t0 - 90 * 60_000, t0 + hour);
      await f.events.addEvents([{ instanceId: f.instance.id, type: 'bounced', at: t0 - 1, detail: {} }]);
      const timeline = await s.timeline(2, 4);
      assert.equal(timeline.bucketMs, 30 * 60_000);
      assert.equal(timeline.until, t0);
      assert.equal(timeline.since, t0 - 2 * hour);
      assert.deepEqual(
        timeline.buckets.map((b) => [b.start - t0, b.counts.accepted, b.counts.bounced]),
        [
          [-2 * hour, 0, 0],
          [-1.5 * hour, 1, 0],
          [-hour, 0, 0],
          [-0.5 * hour, 0, 1],
        ],
      );
    });

    test('pending deliveries and the held count of a suspended instance; unknown names are not-found', async () => {
      const { f, s, fleet } = service();
      await f.spool.commit([message('m1', f.instance.id, ['a@example.com', 'b@example.com'])], t0, t0 + hour);
      await fleet.suspend('acme-prod');
      const pending = await s.pending('acme-prod', 1);
      assert.equal(pending.instance.suspended, true);
      assert.equal(pending.held, 2);
      assert.deepEqual(
        pending.deliveries.map((d) => [d.messageId, d.recipient]),
        [['m1', 'a@example.com']],
      );
      await assert.rejects(s.pending('nobody', 10), (err: unknown) => err instanceof DomainError && err.code === 'not-found');
    });

    test('infrastructures with their instance count and the last hour\u2019s outcomes', async () => {
      const { f, s } = service();
      now = t0;
      await f.events.addEvents([
        { instanceId: f.instance.id, type: 'delivered', at: t0 - 10, detail: { infrastructureId: f.blue.id } },
        { instanceId: f.instance.id, type: 'bounced', at: t0 - 2 * hour, detail: { infrastructureId: f.blue.id } },
      ]);
      const overview = await s.infrastructures();
      assert.equal(overview.since, t0 - hour);
      assert.deepEqual(
        overview.infrastructures.map((i) => [i.infrastructure.name, i.instances, i.lastHour, i.lastPrecheck]),
        [
          ['blue', 2, { delivered: 1, deferred: 0, bounced: 0 }, null],
          ['green', 0, { delivered: 0, deferred: 0, bounced: 0 }, null],
        ],
      );
      assert.deepEqual(await s.openSwitches(), []);
      assert.deepEqual(await s.notices(10), []);
      assert.deepEqual(await s.queueByDomain(10), []);
    });
  });
}
