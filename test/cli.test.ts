import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { startMailshift } from '../src/main.ts';

const bin = fileURLToPath(new URL('../bin/mailshift.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let app: Awaited<ReturnType<typeof startMailshift>>;
let dataDir: string;
let childEnv: Record<string, string | undefined>;

/** Runs the real CLI in a child process against the server of this test. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...childEnv, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function cliJson<T>(args: string[]): Promise<T> {
  const run = await cli([...args, '--json']);
  assert.equal(run.code, 0, `mailshift ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mailshift-cli-'));
  app = await startMailshift(
    loadConfig({
      MAILSHIFT_DATA_DIR: dataDir,
      MAILSHIFT_SMTP_PORT: '0',
      MAILSHIFT_HTTP_PORT: '0',
      MAILSHIFT_CAPTURE_PORT: '0',
      MAILSHIFT_FEEDBACK_PORT: '0',
      MAILSHIFT_ADMIN_TOKEN: 'cli-test-token-1b9e4f7a2c6d8053',
      MAILSHIFT_LOG_LEVEL: 'silent',
    }),
  );
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MAILSHIFT_')));
  childEnv = {
    ...inherited,
    MAILSHIFT_URL: `http://127.0.0.1:${app.httpPort}`,
    MAILSHIFT_ADMIN_TOKEN: 'cli-test-token-1b9e4f7a2c6d8053',
    MAILSHIFT_DATA_DIR: dataDir,
  };
});

after(async () => {
  await app?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('infra create makes an infrastructure that infra list shows', async () => {
  const relay = `127.0.0.1:${app.capturePort}`;
  await cliJson(['infra', 'create', 'edge-1', '--relay', relay, '--helo', 'mta.example.test']);
  const { infrastructures } = await cliJson<{ infrastructures: { name: string; relays: string[]; heloName: string }[] }>(['infra', 'list']);
  const edge = infrastructures.find((i) => i.name === 'edge-1');
  assert.ok(edge, 'edge-1 is listed');
  assert.deepEqual(edge.relays, [relay]);
  assert.equal(edge.heloName, 'mta.example.test');
});

test('customer create applies --locale and --timezone to every contact', async () => {
  const human = await cli([
    'customer',
    'create',
    'acme',
    '--contact',
    'ops@acme.example',
    '--contact',
    'cto@acme.example',
    '--locale',
    'es',
    '--timezone',
    'Europe/Madrid',
  ]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /acme/);
  const { customers } = await cliJson<{ customers: { name: string; contacts: { email: string; locale: string; timezone: string }[] }[] }>(['customer', 'list']);
  const acme = customers.find((c) => c.name === 'acme');
  assert.ok(acme, 'acme is listed');
  assert.deepEqual(
    acme.contacts.map((c) => [c.email, c.locale, c.timezone]),
    [
      ['ops@acme.example', 'es', 'Europe/Madrid'],
      ['cto@acme.example', 'es', 'Europe/Madrid'],
    ],
  );
});

test('instance create --json prints the credentials, suspend holds it, queue shows it, resume releases it', async () => {
  const created = await cliJson<{ smtp: { username: string; password: string }; apiKey: string }>([
    'instance',
    'create',
    'shop-prod',
    '--customer',
    'acme',
    '--product',
    'managed-cloud',
    '--env',
    'production',
    '--infra',
    'edge-1',
    '--allow-from',
    '127.0.0.0/8',
  ]);
  for (const secret of [created.smtp.username, created.smtp.password, created.apiKey]) {
    assert.equal(typeof secret, 'string');
    assert.ok(secret.length > 0);
  }

  const suspend = await cli(['instance', 'suspend', 'shop-prod', '--reason', 'cli test']);
  assert.equal(suspend.code, 0, suspend.stderr);
  assert.match(suspend.stdout, /suspended/);

  const { instances } = await cliJson<{ instances: { name: string; suspended: boolean }[] }>(['instance', 'list']);
  assert.equal(instances.find((i) => i.name === 'shop-prod')?.suspended, true);

  const queue = await cliJson<{ total: Record<string, number>; instances: Record<string, Record<string, number>> }>(['queue']);
  assert.equal(typeof queue.total.scheduled, 'number');
  assert.ok(queue.instances['shop-prod'], 'queue shows shop-prod');

  const resumed = await cliJson<{ heldMs: number; released: number }>(['instance', 'resume', 'shop-prod']);
  assert.equal(typeof resumed.heldMs, 'number');
  assert.equal(typeof resumed.released, 'number');
});

test('nodes --json lists this server as the one node, alive and leader; the table shows the same', async () => {
  const body = await cliJson<{
    self: string;
    nodes: { id: string; host: string; roles: string[]; leader: boolean; alive: boolean; lastSeenAt: string; claims: number }[];
  }>(['nodes']);
  assert.equal(body.self, app.nodeId);
  assert.equal(body.nodes.length, 1);
  const [node] = body.nodes;
  assert.equal(node.id, app.nodeId);
  assert.equal(node.host, hostname());
  assert.deepEqual(node.roles, ['smtp', 'http', 'delivery', 'orchestrator']);
  assert.equal(node.leader, true);
  assert.equal(node.alive, true);
  assert.equal(node.claims, 0);
  assert.ok(!Number.isNaN(Date.parse(node.lastSeenAt)));

  const human = await cli(['nodes']);
  assert.equal(human.code, 0, human.stderr);
  const [header, row, ...rest] = human.stdout.trimEnd().split('\n');
  assert.deepEqual(header.split(/\s{2,}/), ['ID', 'HOST', 'ROLES', 'LEADER', 'ALIVE', 'LAST SEEN', 'CLAIMS']);
  const [id, host, roles, leader, alive, lastSeen, claims, ...more] = row.split(/\s{2,}/);
  assert.deepEqual([id, host, roles, leader, alive, claims, more], [app.nodeId, hostname(), 'smtp,http,delivery,orchestrator', 'yes', 'yes', '0', []]);
  // A heartbeat may come between the two calls: the time is checked for its form only.
  assert.ok(!Number.isNaN(Date.parse(lastSeen)), lastSeen);
  assert.deepEqual(rest, []);
});

test('a wrong admin token fails with an error on stderr', async () => {
  const run = await cli(['queue', '--json'], { MAILSHIFT_ADMIN_TOKEN: 'wrong-token' });
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^error: /);
});

test('an unknown instance fails with an error on stderr', async () => {
  const run = await cli(['instance', 'suspend', 'no-such-instance']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /^error: .*no-such-instance/);
});

test('an unknown command fails', async () => {
  const run = await cli(['no-such-command']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /unknown command/);
});

test('program create, plan, publish and status work as scripts call them; reschedule-request is refused', async () => {
  await cliJson(['infra', 'create', 'edge-2', '--relay', `127.0.0.1:${app.capturePort}`]);
  await cliJson(['instance', 'create', 'shop-dev', '--customer', 'acme', '--product', 'managed-cloud', '--env', 'development', '--infra', 'edge-1']);
  const day = 86_400_000;
  const created = await cli([
    'program',
    'create',
    'move-edge',
    '--from',
    'edge-1',
    '--to',
    'edge-2',
    '--products',
    'managed-cloud,classic-managed',
    '--nonprod-start',
    new Date(Date.now() + 10 * day).toISOString(),
    '--prod-start',
    new Date(Date.now() + 40 * day).toISOString(),
    '--wave-size',
    '10',
    '--concurrency',
    '2',
    '--min-notice-nonprod',
    '7d',
    '--min-notice-prod',
    '30d',
    '--hours',
    '22:00-06:00',
    '--switch-estimate',
    '5s',
  ]);
  assert.equal(created.code, 0, created.stderr);

  const plan = await cliJson<{ waves: { phase: string; start: string; instances: string[] }[] }>(['program', 'plan', 'move-edge']);
  const real = plan.waves.filter((w) => w.instances.length > 0);
  assert.deepEqual(
    real.map((w) => [w.phase, w.instances]),
    [
      ['non-production', ['shop-dev']],
      ['production', ['shop-prod']],
    ],
  );
  for (const w of real) {
    const h = new Date(w.start).getUTCHours();
    assert.ok(h >= 22 || h < 6, `window starts inside 22:00-06:00 UTC, got ${w.start}`);
  }

  const published = await cli(['program', 'publish', 'move-edge']);
  assert.equal(published.code, 0, published.stderr);

  const status = await cliJson<{
    state: string;
    instances: { name: string; wave: number; state: string; switchedAt: string | null; pausedMs: number | null }[];
  }>(['program', 'status', 'move-edge']);
  assert.equal(status.state, 'published');
  assert.deepEqual(status.instances.map((i) => [i.name, i.state, i.switchedAt, i.pausedMs]).sort(), [
    ['shop-dev', 'scheduled', null, null],
    ['shop-prod', 'scheduled', null, null],
  ]);
  assert.ok(status.instances.every((i) => Number.isInteger(i.wave)));

  const refused = await cli(['reschedule-request', 'shop-prod', '--reason', 'peak season']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /refused/i);
  assert.match(refused.stderr, /disrupt other customers' waves/);
});
