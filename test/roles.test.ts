import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testDatabases } from './helpers/databases.ts';
import { eventually, smtpClient } from './helpers/harness.ts';
import { serverEnv, spawnServer, waitForHealthy, type ServerProcess } from './helpers/process.ts';
import { Sink } from './helpers/sink.ts';

const token = 'roles-test-admin-token-3c8e1f9a07d2';
const postgres = testDatabases().find((d) => d.name === 'postgres')!;

async function admin(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

test('an injection-only node spools and a delivery-only node sends, on one PostgreSQL', { skip: postgres.skip, timeout: 90_000 }, async () => {
  const db = await postgres.create();
  const dirs = [mkdtempSync(join(tmpdir(), 'mailshift-roles-a-')), mkdtempSync(join(tmpdir(), 'mailshift-roles-b-'))];
  const sink = await Sink.start();
  const servers: ServerProcess[] = [];
  try {
    const a = await serverEnv(dirs[0]!, token, { ...db.env, MAILSHIFT_ROLES: 'smtp,http', MAILSHIFT_POLL_MS: '200' });
    const nodeA = spawnServer(a.env);
    servers.push(nodeA);
    await waitForHealthy(a.url, nodeA);
    assert.equal((await admin(a.url, 'POST', '/api/admin/v1/customers', { name: 'roles' })).status, 201);
    assert.equal((await admin(a.url, 'POST', '/api/admin/v1/infrastructures', { name: 'roles-infra', relays: [sink.relay] })).status, 201);
    const created = await admin(a.url, 'POST', '/api/admin/v1/instances', {
      name: 'roles-prod',
      customer: 'roles',
      productLine: 'managed-cloud',
      environment: 'production',
      infrastructure: 'roles-infra',
    });
    assert.equal(created.status, 201);
    const client = smtpClient(Number(a.env.MAILSHIFT_SMTP_PORT), created.body.credentials.smtp);
    for (let i = 0; i < 3; i++) await client.sendMail({ from: 'news@roles.example', to: `user${i}@example.net`, subject: `m${i}`, text: 'hello' });
    client.close();
    // Nothing sends yet: the only node has no delivery role.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sink.messages.length, 0);
    assert.equal((await admin(a.url, 'GET', '/api/admin/v1/queue')).body.total.scheduled, 3);

    const b = await serverEnv(dirs[1]!, token, { ...db.env, MAILSHIFT_ROLES: 'delivery', MAILSHIFT_POLL_MS: '200' });
    const nodeB = spawnServer(b.env);
    servers.push(nodeB);
    await eventually(() => sink.messages.length === 3, 30_000, 'the delivery node to send the spooled mail');
    // The sink has the mail before the node records the 250: the outcome follows within a commit.
    await eventually(
      async () => (await admin(a.url, 'GET', '/api/admin/v1/queue')).body.total.delivered === 3,
      10_000,
      'the three deliveries recorded as delivered',
    );
    // The delivery node opened neither door.
    await assert.rejects(fetch(`${b.url}/healthz`), /fetch failed/);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const c = smtpClient(Number(b.env.MAILSHIFT_SMTP_PORT));
        c.verify()
          .then(resolve, reject)
          .finally(() => c.close());
      }),
      /ECONNREFUSED/,
    );
    assert.ok(nodeB.alive, nodeB.output());
  } finally {
    for (const s of servers) await s.stop('SIGTERM');
    await sink.close();
    await db.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
