import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sink } from './helpers/sink.ts';
import { runCli } from './helpers/cli-run.ts';
import { testCertificates } from './helpers/test-certificates.ts';
import { adminToken, startHarness, type Harness } from './helpers/harness.ts';
import { attemptOnce } from './helpers/transport.ts';

const user = 'campaigns';
const password = 'pw-7Kq2-relay-Zx91-secret';

/** Relays that need a login, on STARTTLS (587-style) and on implicit TLS (465-style), played by smtp-server. */
describe('relay login', () => {
  let h: Harness;
  let starttls: Sink;
  let implicit: Sink;
  let cleartext: Sink;
  const keys = new Map<string, string>();

  before(async () => {
    const certs = await testCertificates();
    const tls = await certs.selfSigned('relay.test');
    starttls = await Sink.start(undefined, { listen: { tls, auth: { user, password } } });
    implicit = await Sink.start(undefined, { listen: { tls, secure: true, auth: { user, password } } });
    cleartext = await Sink.start(undefined, { listen: { auth: { user, password } } });
    h = await startHarness();
    const relays: Record<string, unknown> = {
      starttls: { address: starttls.relay, user, password },
      implicit: { address: implicit.relay, secure: true, user, password },
      wrong: { address: starttls.relay, user, password: 'not-the-password' },
      cleartext: { address: cleartext.relay, user, password },
    };
    for (const [name, relay] of Object.entries(relays)) keys.set(name, (await h.instance(name, [relay as string])).apiKey);
  });
  after(async () => {
    await h.close();
    await Promise.all([starttls.close(), implicit.close(), cleartext.close()]);
  });

  const attempt = async (name: string, to: string) => (await attemptOnce(h, keys.get(name)!, to)).delivery;

  test('logs in after STARTTLS and delivers', async () => {
    const d = await attempt('starttls', 'a@example.com');
    assert.equal(d.state, 'delivered', d.lastReply);
    const got = starttls.messages.find((m) => m.recipients.includes('a@example.com'));
    assert.equal(got?.user, user);
    assert.equal(got?.secure, true);
  });

  test('logs in over implicit TLS (secure) and delivers', async () => {
    const d = await attempt('implicit', 'b@example.com');
    assert.equal(d.state, 'delivered', d.lastReply);
    const got = implicit.messages.find((m) => m.recipients.includes('b@example.com'));
    assert.equal(got?.user, user);
    assert.equal(got?.secure, true);
  });

  test('a refused login is deferred with the relay’s reply', async () => {
    const d = await attempt('wrong', 'c@example.com');
    assert.equal(d.state, 'scheduled');
    assert.match(d.lastReply, /login as campaigns refused: .*535/);
    assert.ok(!d.lastReply.includes('not-the-password'));
  });

  test('a relay without TLS never receives the login', async () => {
    const d = await attempt('cleartext', 'd@example.com');
    assert.equal(d.state, 'scheduled');
    assert.match(d.lastReply, /TLS required|no TLS/);
    assert.equal(cleartext.messages.length, 0);
  });

  test('the API shows that a password is set, never the password; the store keeps it sealed', async () => {
    const res = await h.admin('GET', '/api/admin/v1/infrastructures');
    assert.ok(!JSON.stringify(res.body).includes(password));
    const infra = (res.body.infrastructures as { name: string; relayTransport: unknown[] }[]).find((i) => i.name === 'infra-implicit');
    assert.deepEqual(infra?.relayTransport, [{ relay: implicit.relay, secure: true, user, passwordSet: true }]);
    const stored = await h.app.repositories.fleet.findInfrastructure({ name: 'infra-starttls' });
    const sealed = stored?.relays[0].login?.sealedPassword ?? '';
    assert.match(sealed, /^v1\./);
    assert.ok(!sealed.includes(password));
    // Nothing in the data directory (database, WAL, files) holds the password in clear.
    for (const file of readdirSync(h.dataDir, { recursive: true }) as string[]) {
      const path = join(h.dataDir, file);
      if (statSync(path).isFile()) assert.ok(!readFileSync(path).includes(password), `${file} holds the password`);
    }
    assert.equal(statSync(join(h.dataDir, 'secret-key')).mode & 0o777, 0o600);
  });

  test('mailshift infra create --relay-user --relay-password-file', async () => {
    const file = join(h.dataDir, 'relay-password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const run = await runCli(h.url, adminToken, [
      'infra',
      'create',
      'via-cli',
      '--relay',
      implicit.relay,
      '--relay-secure',
      '--relay-user',
      user,
      '--relay-password-file',
      file,
      '--tls',
      'required',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(password));
    const created = JSON.parse(run.stdout);
    assert.equal(created.tls, 'required');
    assert.deepEqual(created.relayTransport, [{ relay: implicit.relay, secure: true, user, passwordSet: true }]);
    const half = await runCli(h.url, adminToken, ['infra', 'create', 'half', '--relay', implicit.relay, '--relay-user', user]);
    assert.notEqual(half.code, 0);
    assert.match(half.stderr, /--relay-user and --relay-password-file go together/);
  });
});
