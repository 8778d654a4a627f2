import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { day, message, t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('prune removes old finished mail, old events and keys, and never mail still queued', async () => {
      const fx = f();
      const withKey = { ...message('done', fx.instance.id, ['a@example.test']), idempotency: { key: 'k', requestHash: 'h', response: '{}' } };
      await fx.spool.commit([withKey, message('queued', fx.instance.id, ['b@example.test'])], t0, t0 + 4 * day);
      await fx.spool.commit([message('recent', fx.instance.id, ['c@example.test'])], t0 + 9 * day, t0 + 13 * day);
      const claimed = await fx.spool.claim(t0, 10, 'w', 60_000);
      const done = claimed.find((d) => d.messageId === 'done')!;
      await fx.spool.record([{ kind: 'delivered', delivery: done, reply: '250 ok', at: t0 + 1000 }]);
      await fx.spool.release(
        claimed.filter((d) => d !== done).map((d) => d.id),
        'w',
        t0 + 2000,
      );

      const now = t0 + 10 * day;
      const pruned = await fx.retention.prune(now - 7 * day, now - 5 * day, now - day);
      assert.deepEqual(pruned.messages, 1);
      assert.equal(pruned.keys, 1);
      assert.ok(pruned.events >= 3, 'the old events went');
      assert.equal(await fx.spool.findMessage('done'), undefined);
      assert.deepEqual(await fx.spool.deliveriesOf('done'), []);
      assert.ok(await fx.spool.findMessage('queued'), 'queued mail is kept however old');
      assert.ok(await fx.spool.findMessage('recent'));
      assert.equal(await fx.idempotency.find(fx.instance.id, 'k'), undefined);
      assert.equal((await fx.events.eventsForMessage('recent')).length, 1);
    });
  });
}
