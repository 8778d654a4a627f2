import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { adminToken, startHarness, type Harness } from './helpers/harness.ts';

const bin = fileURLToPath(new URL('../bin/mailshift.js', import.meta.url));
const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MAILSHIFT_')));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process, against `url`. */
function cli(url: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...inherited, MAILSHIFT_URL: url, MAILSHIFT_ADMIN_TOKEN: adminToken } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

// Each CLI run is a process start (about a second): the refusals run side by side.
describe('CLI names are validated before any request', { concurrency: 4 }, () => {
  // Stands in for the server: records every request the CLI makes, answers 200 {}.
  let recorder: Server;
  let recorderUrl: string;
  const requests: string[] = [];
  before(async () => {
    recorder = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => recorder.close(() => resolve())));

  // Each of these, sent as is, would reach another route ("instances/../suspend" is "/suspend").
  const attacks: [string, string[]][] = [
    ['instance suspend ..', ['instance', 'suspend', '..']],
    ['instance suspend a/b', ['instance', 'suspend', 'a/b']],
    [
      'instance create with --customer ..',
      ['instance', 'create', 'ok', '--customer', '..', '--product', 'managed-cloud', '--env', 'production', '--infra', 'local'],
    ],
    ['customer create ..', ['customer', 'create', '..', '--contact', 'ops@acme.example']],
    ['infra create .', ['infra', 'create', '.', '--relay', '127.0.0.1:25']],
    ['suppression list ..', ['suppression', 'list', '..']],
    ['suppression add shop ..', ['suppression', 'add', 'shop', '..']],
    ['suppression remove shop ..', ['suppression', 'remove', 'shop', '..']],
    ['program status ..', ['program', 'status', '..']],
    [
      'program create with --to ..',
      ['program', 'create', 'p', '--from', 'local', '--to', '..', '--nonprod-start', '2030-01-01T00:00:00Z', '--prod-start', '2030-02-01T00:00:00Z'],
    ],
    ['opt-out %2e%2e', ['opt-out', '%2e%2e', '--reason', 'x']],
    ['message show ..', ['message', 'show', '..']],
  ];
  for (const [what, args] of attacks) {
    test(`refused: ${what}`, async () => {
      const run = await cli(recorderUrl, args);
      assert.equal(run.code, 1, `exit code; stdout ${run.stdout}`);
      assert.match(run.stderr, /^error: .*(name must be|not an email address|not a valid email address|not a message id)/);
    });
  }

  test('a valid name goes through, encoded', async () => {
    const run = await cli(recorderUrl, ['suppression', 'remove', 'shop.eu-1', 'a/b@example.com', '--json']);
    assert.equal(run.code, 0, run.stderr);
  });

  // Last, after every refusal: the one request recorded is the valid one.
  after(() => assert.deepEqual(requests, ['DELETE /api/admin/v1/instances/shop.eu-1/suppressions/a%2Fb%40example.com']));
});

describe('CLI paths against a real server', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.instance('shop.eu', ['127.0.0.1:1']);
  });
  after(() => h.close());

  test('names with dots and addresses with "/" reach their own route', async () => {
    assert.equal((await cli(h.url, ['instance', 'suspend', 'shop.eu', '--json'])).code, 0);
    assert.equal((await h.admin('GET', '/api/admin/v1/instances/shop.eu')).body.suspended, true);
    assert.equal((await cli(h.url, ['instance', 'resume', 'shop.eu', '--json'])).code, 0);

    // "/" is a valid local-part character: encoded, it stays inside its path segment.
    const added = await cli(h.url, ['suppression', 'add', 'shop.eu', 'a/b@example.com', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const listed = JSON.parse((await cli(h.url, ['suppression', 'list', 'shop.eu', '--json'])).stdout);
    assert.deepEqual(
      listed.suppressions.map((s: { address: string }) => s.address),
      ['a/b@example.com'],
    );
    const removed = await cli(h.url, ['suppression', 'remove', 'shop.eu', 'a/b@example.com', '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    const after = JSON.parse((await cli(h.url, ['suppression', 'list', 'shop.eu', '--json'])).stdout);
    assert.deepEqual(after.suppressions, []);
  });

  test('instance suspend .. leaves every instance alone', async () => {
    const run = await cli(h.url, ['instance', 'suspend', '..']);
    assert.equal(run.code, 1);
    assert.equal((await h.admin('GET', '/api/admin/v1/instances/shop.eu')).body.suspended, false);
  });
});
