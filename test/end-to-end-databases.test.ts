import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sink } from './helpers/sink.ts';
import { eventually, smtpClient, startHarness } from './helpers/harness.ts';
import { testDatabases } from './helpers/databases.ts';

// The same server path on each store: accept, hold, release, retry, deliver.
for (const kind of testDatabases()) {
  describe(`end to end on ${kind.name}`, { skip: kind.skip }, () => {
    test('SMTP and HTTP mail is held while suspended, retried after a deferral, and delivered once', async () => {
      const db = await kind.create();
      const sink = await Sink.start((rcpt, attempt) => (rcpt === 'slow@example.com' && attempt === 1 ? { code: 451, message: '4.7.1 greylisted' } : undefined));
      const h = await startHarness({ ...db.env, MAILSHIFT_RETRY: JSON.stringify({ initialDelayMs: 200, maxAgeMs: 60_000 }) });
      try {
        const creds = await h.instance('pg-shop', [sink.relay]);
        assert.equal((await h.admin('POST', '/api/admin/v1/instances/pg-shop/suspend', {})).status, 200);
        const client = smtpClient(h.app.smtpPort, creds.smtp, true);
        await Promise.all(
          Array.from({ length: 30 }, (_, i) => client.sendMail({ from: 'a@shop.example', to: `p${i}@example.com`, subject: `n${i}`, text: 'x' })),
        );
        client.close();
        const api = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['slow@example.com'], subject: 'slow', text: 'x' });
        assert.equal(api.status, 202);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(sink.messages.length, 0);
        const resumed = await h.admin('POST', '/api/admin/v1/instances/pg-shop/resume', {});
        assert.equal(resumed.body.released, 31);
        await sink.waitFor(31, 20_000);
        await eventually(async () => (await h.admin('GET', '/api/admin/v1/queue')).body.instances['pg-shop'].delivered === 31);
        assert.equal(new Set(sink.messages.map((m) => m.recipients[0])).size, 31);
        assert.equal(sink.attempts.get('slow@example.com'), 2);
      } finally {
        await h.close();
        await sink.close();
        await db.drop();
      }
    });
  });
}
