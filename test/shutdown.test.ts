import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/database.ts';
import { Sink } from './helpers/sink.ts';
import { eventually } from './helpers/harness.ts';
import { serverEnv, spawnServer, waitForHealthy } from './helpers/process.ts';

const token = 'shutdown-test-token-4e8b2d6a9c1f7035';

async function admin(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

test('SIGTERM finishes sessions in flight, hands the rest back, and exits cleanly; a restart delivers the rest once', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-shutdown-'));
  const sink = await Sink.start(undefined, { dataDelayMs: 300 });
  const { env, url } = await serverEnv(dataDir, token);
  let server = spawnServer(env);
  try {
    await waitForHealthy(url, server);
    await admin(url, 'POST', '/api/admin/v1/customers', { name: 'zeta', contacts: [] });
    await admin(url, 'POST', '/api/admin/v1/infrastructures', {
      name: 'slow',
      relays: [sink.relay],
      shaping: [{ domain: '*', maxConnections: 4, maxMessagesPerConnection: 100 }],
    });
    const created = await admin(url, 'POST', '/api/admin/v1/instances', {
      name: 'zeta-prod',
      customer: 'zeta',
      productLine: 'classic-managed',
      environment: 'production',
      infrastructure: 'slow',
    });
    const key = created.body.credentials.apiKey as string;
    const batch = await fetch(`${url}/api/v1/messages/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: 'a@zeta.example',
        subject: 'n',
        text: 'x',
        recipients: Array.from({ length: 60 }, (_, i) => ({ to: `z${i}@example.com` })),
      }),
    });
    assert.equal(batch.status, 202);
    // 4 slow sessions are busy: stop while most of the 60 are still queued in memory.
    await eventually(() => sink.messages.length >= 4, 10_000, 'the first deliveries');
    await server.stop('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, `clean exit, got ${JSON.stringify(exit)}: ${server.output()}`);

    const store = await openStore({ url: join(dataDir, 'mailshift.db') });
    const rows = await store.db.selectFrom('deliveries').select(['recipient', 'state']).execute();
    await store.close();
    assert.equal(rows.filter((r) => r.state === 'inflight').length, 0, 'no claim is left behind');
    const delivered = rows
      .filter((r) => r.state === 'delivered')
      .map((r) => r.recipient)
      .sort();
    assert.deepEqual(delivered, sink.messages.map((m) => m.recipients[0]).sort(), 'every session that finished was recorded');
    assert.ok(delivered.length < 60, 'the rest went back to the spool');

    server = spawnServer(env);
    await waitForHealthy(url, server);
    await sink.waitFor(60, 30_000);
    assert.equal(new Set(sink.messages.map((m) => m.recipients[0])).size, 60);
    assert.equal(sink.messages.length, 60, 'nothing was sent twice');
  } finally {
    await server.stop('SIGKILL');
    await sink.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
