import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../core/errors.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { message, t0, useFixture } from '../../test/store/fixtures.ts';
import { FleetReads } from './fleet-reads.ts';

const zero = { scheduled: 0, inflight: 0, delivered: 0, bounced: 0, expired: 0, suppressed: 0 };

for (const kind of testDatabases()) {
  describe(`FleetReads (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);

    test('queue counts per state, in total and per instance name, with every state and every instance present', async () => {
      const f = fixture();
      const reads = new FleetReads(f.fleet, f.spool, f.events);
      assert.deepEqual(await reads.queue(), { total: zero, instances: { 'acme-prod': zero, 'acme-dev': zero } });
      await f.spool.commit(
        [
          message('m1', f.instance.id, ['a@example.com', 'b@example.com'], { suppressed: { 'b@example.com': 'listed' } }),
          message('m2', f.other.id, ['c@example.com']),
        ],
        t0,
        t0 + 3_600_000,
      );
      assert.deepEqual(await reads.queue(), {
        total: { ...zero, scheduled: 2, suppressed: 1 },
        instances: { 'acme-prod': { ...zero, scheduled: 1, suppressed: 1 }, 'acme-dev': { ...zero, scheduled: 1 } },
      });
    });

    test('instances with their customer, infrastructure and queue; one with its latest events', async () => {
      const f = fixture();
      const reads = new FleetReads(f.fleet, f.spool, f.events);
      await f.spool.commit([message('m1', f.instance.id, ['a@example.com'])], t0, t0 + 3_600_000);
      const rows = await reads.instances();
      assert.deepEqual(rows.map((r) => [r.instance.name, r.customer, r.infrastructure, r.queue.scheduled]).sort(), [
        ['acme-dev', 'Acme', 'blue', 0],
        ['acme-prod', 'Acme', 'blue', 1],
      ]);
      const one = await reads.instance('acme-prod');
      assert.equal(one.instance.id, f.instance.id);
      assert.deepEqual(
        one.recentEvents.map((e) => [e.type, e.messageId]),
        [['accepted', 'm1']],
      );
      await assert.rejects(reads.instance('nobody'), (err: unknown) => err instanceof DomainError && err.code === 'not-found');
      assert.deepEqual(
        (await reads.customers()).map((c) => c.name),
        ['Acme'],
      );
      assert.deepEqual(
        (await reads.infrastructures()).map((i) => i.name),
        ['blue', 'green'],
      );
    });
  });
}
