import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { day, message, t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('create and list, all or per instance', async () => {
      const { webhooks, instance, other } = f();
      const a = await webhooks.create(instance.id, 'https://hooks.acme.test/a', 'secret-a', 0, t0);
      const b = await webhooks.create(other.id, 'https://hooks.acme.test/b', 'secret-b', 42, t0);
      const c = await webhooks.create(instance.id, 'https://hooks.acme.test/c', 'secret-c', 7, t0);
      assert.deepEqual(a, {
        id: a.id,
        instanceId: instance.id,
        url: 'https://hooks.acme.test/a',
        secret: 'secret-a',
        cursor: 0,
        failures: 0,
        nextAttemptAt: 0,
        lastError: null,
      });

      assert.deepEqual(await webhooks.list(), [a, b, c]);
      assert.deepEqual(await webhooks.list(instance.id), [a, c]);
      assert.deepEqual(await webhooks.list(other.id), [b]);
      assert.deepEqual(await webhooks.list(999_999), []);
    });

    test('failed records the error and backoff; advance moves the cursor and clears them', async () => {
      const { webhooks, instance } = f();
      const hook = await webhooks.create(instance.id, 'https://hooks.acme.test/a', 's', 10, t0);

      await webhooks.failed(hook.id, 3, t0 + 60_000, 'connect ECONNREFUSED');
      assert.deepEqual(await webhooks.list(instance.id), [{ ...hook, failures: 3, nextAttemptAt: t0 + 60_000, lastError: 'connect ECONNREFUSED' }]);

      await webhooks.failed(hook.id, 4, t0 + 120_000, 'x'.repeat(2_000));
      const [long] = await webhooks.list(instance.id);
      assert.equal(long?.lastError, 'x'.repeat(500), 'errors are truncated');

      await webhooks.advance(hook.id, 25);
      assert.deepEqual(await webhooks.list(instance.id), [{ ...hook, cursor: 25, failures: 0, nextAttemptAt: 0, lastError: null }]);
    });

    test('createLimited refuses past the limit per instance, also for concurrent creates', async () => {
      const { webhooks, instance, other } = f();
      const first = await webhooks.createLimited(2, instance.id, 'https://hooks.acme.test/1', 's1', 5, t0);
      assert.ok(first.kind === 'created');
      assert.deepEqual(first.webhook, {
        id: first.webhook.id,
        instanceId: instance.id,
        url: 'https://hooks.acme.test/1',
        secret: 's1',
        cursor: 5,
        failures: 0,
        nextAttemptAt: 0,
        lastError: null,
      });
      assert.equal((await webhooks.createLimited(2, instance.id, 'https://hooks.acme.test/2', 's', 0, t0)).kind, 'created');
      assert.deepEqual(await webhooks.createLimited(2, instance.id, 'https://hooks.acme.test/3', 's', 0, t0), { kind: 'limit-reached', limit: 2 });
      assert.equal((await webhooks.list(instance.id)).length, 2);

      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => webhooks.createLimited(5, other.id, `https://hooks.acme.test/o${i}`, 's', 0, t0)));
      assert.equal(results.filter((r) => r.kind === 'created').length, 5);
      assert.equal((await webhooks.list(other.id)).length, 5);
    });

    test('remove reports whether the webhook existed', async () => {
      const { webhooks, instance } = f();
      const a = await webhooks.create(instance.id, 'https://hooks.acme.test/a', 's', 0, t0);
      const b = await webhooks.create(instance.id, 'https://hooks.acme.test/b', 's', 0, t0);
      assert.equal(await webhooks.remove(a.id), true);
      assert.equal(await webhooks.remove(a.id), false);
      assert.deepEqual(await webhooks.list(), [b]);
      const c = await webhooks.create(instance.id, 'https://hooks.acme.test/c', 's', 0, t0);
      assert.ok(c.id > b.id);
    });

    test('lastEventId is 0 on an empty spool, then the newest event id', async () => {
      const { webhooks, spool, events: eventLog, instance, other } = f();
      assert.equal(await webhooks.lastEventId(), 0);
      await spool.commit([message('m-1', instance.id, ['a@x.test', 'b@x.test'], { suppressed: { 'b@x.test': 'manual' } })], t0, t0 + day);
      await spool.commit([message('m-2', other.id, ['c@x.test'])], t0 + 1, t0 + day);

      const events = [...(await eventLog.eventsAfter(instance.id, 0, 100)), ...(await eventLog.eventsAfter(other.id, 0, 100))];
      const last = await webhooks.lastEventId();
      assert.equal(typeof last, 'number');
      assert.equal(last, Math.max(...events.map((e) => e.id)));

      // A webhook created from lastEventId sees only later events.
      const hook = await webhooks.create(instance.id, 'https://hooks.acme.test/a', 's', last, t0 + 2);
      await spool.commit([message('m-3', instance.id, ['d@x.test'])], t0 + 3, t0 + day);
      const pending = await eventLog.eventsAfter(instance.id, hook.cursor, 100);
      assert.deepEqual(
        pending.map((e) => [e.type, e.messageId]),
        [['accepted', 'm-3']],
      );
    });
  });
}
