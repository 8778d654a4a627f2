import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError, fail, ok } from '../core/errors.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { message, t0, useFixture } from '../../test/store/fixtures.ts';
import { WebhookService, type WebhookTargetCheck } from './webhook-service.ts';

const clock = { now: () => t0, sleep: async () => undefined };
const code = (c: string) => (err: unknown) => err instanceof DomainError && err.code === c;
/** Stands in for WebhookTargets: hosts under `.inward` resolve inward. */
const targets: WebhookTargetCheck = { check: async (url) => (url.hostname.endsWith('.inward') ? fail('invalid-request', 'inward') : ok(url)) };

for (const kind of testDatabases()) {
  describe(`WebhookService (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);

    test('creates with a fresh secret each time, starting after the last event; lists without secrets', async () => {
      const f = fixture();
      const s = new WebhookService(f.webhooks, targets, clock, { maxPerInstance: 5 });
      await f.spool.commit([message('m-1', f.instance.id, ['a@example.test'])], t0, t0 + 1000);
      const a = await s.create(f.instance, 'https://hooks.acme.test/a#x');
      const b = await s.create(f.instance, 'https://hooks.acme.test/b');
      assert.equal(a.url, 'https://hooks.acme.test/a');
      assert.notEqual(a.secret, b.secret);
      assert.match(a.secret, /^[A-Za-z0-9_-]{32}$/);
      const [stored] = await f.webhooks.list(f.instance.id);
      assert.equal(stored.secret, a.secret);
      assert.equal(stored.cursor, await f.webhooks.lastEventId());
      assert.ok(stored.cursor > 0);
      assert.deepEqual(
        (await s.list(f.instance)).map((h) => h.url),
        ['https://hooks.acme.test/a', 'https://hooks.acme.test/b'],
      );
    });

    test('refuses bad URLs and inward targets, and past the limit', async () => {
      const f = fixture();
      const s = new WebhookService(f.webhooks, targets, clock, { maxPerInstance: 1 });
      await assert.rejects(s.create(f.instance, 'ftp://hooks.acme.test/'), code('invalid-request'));
      await assert.rejects(s.create(f.instance, 'https://user:pw@hooks.acme.test/'), code('invalid-request'));
      await assert.rejects(s.create(f.instance, 'https://db.inward/'), code('invalid-request'));
      await s.create(f.instance, 'https://hooks.acme.test/1');
      await assert.rejects(s.create(f.instance, 'https://hooks.acme.test/2'), code('limit-reached'));
      await s.create(f.other, 'https://hooks.acme.test/other');
      assert.equal((await s.list(f.instance)).length, 1);
    });

    test('an instance deletes only its own webhooks', async () => {
      const f = fixture();
      const s = new WebhookService(f.webhooks, targets, clock, { maxPerInstance: 5 });
      const mine = await s.create(f.instance, 'https://hooks.acme.test/mine');
      await assert.rejects(s.remove(f.other, mine.id), code('not-found'));
      assert.equal((await s.list(f.instance)).length, 1);
      await s.remove(f.instance, mine.id);
      await assert.rejects(s.remove(f.instance, mine.id), code('not-found'));
    });
  });
}
