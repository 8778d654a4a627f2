import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DnsTestServer } from './helpers/dns-server.ts';
import { pythonDkimMissing, verifyWithMailauth, verifyWithPython } from './helpers/dkim-verifiers.ts';
import { adminToken, smtpClient, startHarness, type Harness } from './helpers/harness.ts';
import { Sink } from './helpers/sink.ts';

interface Key {
  domain: string;
  selector: string;
  algorithm: string;
  dnsName: string;
  dnsValue: string;
  state: string;
}

const pythonMissing = pythonDkimMissing();
const bin = fileURLToPath(new URL('../bin/mailshift.js', import.meta.url));

/** The tags of each DKIM-Signature of a message, top first. */
function signatures(raw: string): Map<string, string>[] {
  const header = raw.slice(0, raw.indexOf('\r\n\r\n'));
  const fields = header.split(/\r\n(?![ \t])/).filter((f) => /^dkim-signature:/i.test(f));
  return fields.map(
    (f) =>
      new Map(
        f
          .slice(f.indexOf(':') + 1)
          .replace(/\s+/g, '')
          .split(';')
          .filter(Boolean)
          .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)] as [string, string]),
      ),
  );
}

describe('sender authentication', () => {
  let dns: DnsTestServer;
  let h: Harness;
  let sink: Sink;
  let customers = 0;
  before(async () => {
    dns = await DnsTestServer.start({});
    h = await startHarness({ MAILSHIFT_DNS_SERVERS: dns.servers });
    sink = await Sink.start();
  });
  after(async () => {
    await h.close();
    await sink.close();
    await dns.close();
  });

  async function admin(method: string, path: string, body?: unknown, status = 200) {
    const res = await h.admin(method, `/api/admin/v1${path}`, body);
    assert.equal(res.status, status, JSON.stringify(res.body));
    return res.body;
  }

  /** A customer with an instance on `infrastructure` (made first when `infra` is given). */
  async function tenant(infrastructure: string, infra?: Record<string, unknown>) {
    const customer = `cust${++customers}`;
    if (infra) await admin('POST', '/infrastructures', { name: infrastructure, relays: [sink.relay], ...infra }, 201);
    await admin('POST', '/customers', { name: customer }, 201);
    const created = await admin(
      'POST',
      '/instances',
      { name: `${customer}-i`, customer, productLine: 'managed-cloud', environment: 'production', infrastructure },
      201,
    );
    return { customer, instance: `${customer}-i`, credentials: created.credentials as { smtp: { username: string; password: string }; apiKey: string } };
  }

  /** The real CLI in a child process, against this server. */
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, MAILSHIFT_URL: h.url, MAILSHIFT_ADMIN_TOKEN: adminToken };
    return new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args], { env }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
    });
  }

  function publish(keys: Key[]): void {
    for (const k of keys) dns.set(k.dnsName, { TXT: [k.dnsValue] });
  }

  async function send(smtp: { username: string; password: string }, from: string, to: string, headers: Record<string, string> = {}) {
    const before = sink.messages.length;
    const client = smtpClient(h.app.smtpPort, smtp);
    try {
      await client.sendMail({ from, to, subject: 'Autumn sale', text: 'Everything must go.\n', headers });
    } finally {
      client.close();
    }
    await sink.waitFor(before + 1);
    const got = sink.messages.find((m) => m.recipients.includes(to));
    assert.ok(got, `nothing arrived for ${to}`);
    return got.raw;
  }

  let first = '';
  let brandKeys: Key[] = [];
  let brand: Awaited<ReturnType<typeof tenant>> | undefined;

  test('RSA and Ed25519 keys of the customer\u2019s domain both sign; mailauth and python3-dkim verify each', async () => {
    const t = await tenant('brand-infra', {});
    brand = t;
    await admin('POST', '/domains', { domain: 'brand.example', customer: t.customer, verified: true }, 201);
    const rsa: Key = await admin('POST', '/dkim', { domain: 'brand.example', customer: t.customer, selector: 'r1' }, 201);
    const ed: Key = await admin('POST', '/dkim', { domain: 'brand.example', customer: t.customer, selector: 'e1', algorithm: 'ed25519' }, 201);
    assert.equal(rsa.dnsName, 'r1._domainkey.brand.example');
    assert.match(rsa.dnsValue, /^v=DKIM1; k=rsa; p=MII/);
    assert.match(ed.dnsValue, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    brandKeys = [rsa, ed];
    publish(brandKeys);

    first = await send(t.credentials.smtp, 'Brand News <news@brand.example>', 'first@example.com', {
      'List-Unsubscribe': '<https://brand.example/u/1>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    const sigs = signatures(first);
    assert.deepEqual(
      sigs.map((s) => [s.get('a'), s.get('d'), s.get('s')]),
      [
        ['rsa-sha256', 'brand.example', 'r1'],
        ['ed25519-sha256', 'brand.example', 'e1'],
      ],
    );
    const covered = sigs[0].get('h')!.toLowerCase().split(':');
    assert.equal(covered.filter((f) => f === 'from').length, 2, 'From is over-signed');
    for (const field of ['to', 'subject', 'date', 'message-id', 'list-unsubscribe', 'list-unsubscribe-post']) assert.ok(covered.includes(field), field);

    const verdicts = await verifyWithMailauth(first, dns.servers);
    assert.deepEqual(
      verdicts.map((v) => [v.selector, v.algorithm, v.result]),
      [
        ['r1', 'rsa-sha256', 'pass'],
        ['e1', 'ed25519-sha256', 'pass'],
      ],
    );
    // Altered in transit, or given a second From: both signatures break.
    const altered = first.replace('Subject: Autumn sale', 'Subject: Winter sale');
    assert.deepEqual(
      (await verifyWithMailauth(altered, dns.servers)).map((v) => v.result),
      ['fail', 'fail'],
    );
    const twoFroms = first.replace('\r\n\r\n', '\r\nFrom: someone@else.example\r\n\r\n');
    assert.deepEqual(
      (await verifyWithMailauth(twoFroms, dns.servers)).map((v) => v.result),
      ['fail', 'fail'],
    );
  });

  test('python3-dkim verifies both signatures too', { skip: pythonMissing ?? false }, async () => {
    assert.ok(first, 'the signing test ran first');
    assert.deepEqual(await verifyWithPython(first, dns.servers), [true, true]);
    assert.deepEqual(await verifyWithPython(first.replace('Everything must go.', 'Everything must stay.'), dns.servers), [false, false]);
  });

  test('after a rotation the new selectors sign, and mail signed before still verifies during the grace period', async () => {
    assert.ok(first, 'the signing test ran first');
    const rotated: Key[] = (await admin('POST', '/domains/brand.example/dkim/rotate', { grace: '7d' })).keys;
    assert.deepEqual(rotated.map((k) => k.algorithm).sort(), ['ed25519', 'rsa']);
    assert.ok(rotated.every((k) => !['r1', 'e1'].includes(k.selector)));
    const listed: Key[] = (await h.admin('GET', '/api/admin/v1/dkim?domain=brand.example')).body.keys;
    assert.deepEqual(
      listed.map((k) => [k.selector, k.state]),
      [['r1', 'retiring'], ['e1', 'retiring'], ...rotated.map((k) => [k.selector, 'active'])],
    );
    // The operator publishes every record still needed: old and new.
    publish(listed.filter((k) => k.state !== 'retired'));

    assert.ok(brand);
    const creds = brand.credentials.smtp;
    const later = await send(creds, 'news@brand.example', 'later@example.com');
    assert.deepEqual(
      signatures(later).map((s) => s.get('s')),
      rotated.map((k) => k.selector),
    );
    assert.deepEqual(
      (await verifyWithMailauth(later, dns.servers)).map((v) => v.result),
      ['pass', 'pass'],
    );
    assert.deepEqual(
      (await verifyWithMailauth(first, dns.servers)).map((v) => v.result),
      ['pass', 'pass'],
    );
    if (!pythonMissing) assert.deepEqual(await verifyWithPython(first, dns.servers), [true, true]);
    // Once the old record is taken down, the old mail no longer verifies: the grace period is what keeps it valid.
    dns.set('r1._domainkey.brand.example', undefined);
    assert.equal((await verifyWithMailauth(first, dns.servers))[0].result, 'neutral');
    publish(brandKeys);
  });

  test('a tenant sending as another customer’s domain is refused, or sent unsigned, as the infrastructure says', async () => {
    const owner = await tenant('shared-refuse', { unverifiedFrom: 'refuse' });
    const other = await tenant('shared-refuse');
    await admin('POST', '/domains', { domain: 'owner.example', customer: owner.customer, verified: true }, 201);
    publish([await admin('POST', '/dkim', { domain: 'owner.example', customer: owner.customer, selector: 'o1' }, 201)]);

    const client = smtpClient(h.app.smtpPort, other.credentials.smtp);
    try {
      await assert.rejects(
        client.sendMail({ from: 'ceo@owner.example', to: 'victim@example.com', subject: 'x', text: 'x' }),
        (err: { responseCode?: number; response?: string }) => {
          assert.equal(err.responseCode, 550);
          assert.match(err.response ?? '', /5\.7\.1 .*owner\.example is not a sending domain of this instance's customer/);
          return true;
        },
      );
    } finally {
      client.close();
    }
    const post = (from: string, to: string) => h.api(other.credentials.apiKey, 'POST', '/api/v1/messages', { from, to: [to], subject: 'x', text: 'x' });
    const viaHttp = await post('ceo@owner.example', 'victim@example.com');
    assert.equal(viaHttp.status, 403);
    assert.equal(viaHttp.body.code, 'forbidden');
    // A domain added but not yet verified is refused too, saying so.
    await admin('POST', '/domains', { domain: 'pending.example', customer: other.customer }, 201);
    const pending = await post('a@pending.example', 'x@example.com');
    assert.equal(pending.status, 403);
    assert.match(pending.body.detail, /pending\.example is not verified yet/);
    // The owner sends as its own domain, signed.
    const own = await send(owner.credentials.smtp, 'ceo@owner.example', 'owner-rcpt@example.com');
    assert.deepEqual(
      signatures(own).map((sig) => [sig.get('d'), sig.get('s')]),
      [['owner.example', 'o1']],
    );
    assert.equal((await verifyWithMailauth(own, dns.servers))[0].result, 'pass');

    // On an infrastructure that sends unverified mail unsigned: accepted, never signed as the other customer.
    const open = await tenant('shared-open', { unverifiedFrom: 'unsigned' });
    const spoof = await send(open.credentials.smtp, 'ceo@owner.example', 'spoof-rcpt@example.com');
    assert.doesNotMatch(spoof, /DKIM-Signature/i);
    assert.equal(
      sink.messages.some((m) => m.recipients.includes('victim@example.com') || m.recipients.includes('x@example.com')),
      false,
    );
  });

  test('domain check reports SPF, DKIM and DMARC from DNS; the switch pre-check refuses a target that would fail', async () => {
    const t = await tenant('checked', { sourceAddresses: ['192.0.2.10', '2001:db8::10'], spfInclude: '_spf.checked.example' });
    await admin('POST', '/domains', { domain: 'check.example', customer: t.customer, verified: true }, 201);
    const key: Key = await admin('POST', '/dkim', { domain: 'check.example', customer: t.customer, algorithm: 'ed25519', selector: 'c1' }, 201);
    dns.set('check.example', { TXT: ['v=spf1 include:_spf.other.example ~all', 'google-site-verification=abc'] });
    dns.set('_spf.other.example', { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] });
    dns.set(key.dnsName, { TXT: ['v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='] });

    let check = await admin('GET', '/domains/check.example/check?infrastructure=checked');
    assert.equal(check.ok, false);
    assert.equal(check.spf.ok, false);
    assert.match(check.spf.detail, /include:_spf\.checked\.example is missing/);
    assert.deepEqual(
      check.spf.addresses.map((a: { result: string }) => a.result),
      ['softfail', 'softfail'],
    );
    assert.equal(check.dkim.ok, false);
    assert.match(check.dkim.records[0].detail, /different key/);
    assert.equal(check.dmarc.ok, false);
    assert.match(check.dmarc.detail, /no DMARC record at _dmarc\.check\.example/);

    const instance = await h.app.services.fleet.instanceByName(t.instance);
    const target = (await h.app.repositories.fleet.findInfrastructure({ name: 'checked' }))!;
    const refused = await h.app.services.domainChecks.precheck(instance, target);
    assert.match(refused ?? '', /SPF of check\.example does not cover checked: 192\.0\.2\.10 softfail/);

    dns.set('check.example', { TXT: ['v=spf1 include:_spf.checked.example -all'] });
    dns.set('_spf.checked.example', { TXT: ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all'] });
    publish([key]);
    dns.set('_dmarc.check.example', { TXT: ['v=DMARC1; p=reject; adkim=r'] });
    check = await admin('GET', '/domains/check.example/check');
    assert.equal(check.infrastructure, 'checked');
    assert.deepEqual([check.ok, check.spf.ok, check.dkim.ok, check.dmarc.ok], [true, true, true, true], JSON.stringify(check));
    assert.equal(await h.app.services.domainChecks.precheck(instance, target), null);
    const cliRun = await cli(['domain', 'check', 'check.example', '--infra', 'checked', '--json']);
    assert.equal(cliRun.code, 0, cliRun.stderr);
    assert.equal(JSON.parse(cliRun.stdout).ok, true);

    // A verified domain without a key blocks a switch as well.
    await admin('POST', '/domains', { domain: 'nokey.example', customer: t.customer, verified: true }, 201);
    assert.match((await h.app.services.domainChecks.precheck(instance, target)) ?? '', /nokey\.example has no DKIM key/);
  });

  test('domain verify finds the TXT token; dkim add --json prints the record to publish', async () => {
    const t = await tenant('verify-infra', {});
    const added = await admin('POST', '/domains', { domain: 'proof.example', customer: t.customer }, 201);
    assert.equal(added.verified, false);
    assert.equal(added.verifyName, '_mailshift.proof.example');
    let verdict = await admin('POST', '/domains/proof.example/verify');
    assert.equal(verdict.verified, false);
    dns.set(added.verifyName, { TXT: [added.verifyValue] });
    verdict = await admin('POST', '/domains/proof.example/verify');
    assert.equal(verdict.verified, true, verdict.detail);
    assert.equal((await admin('GET', '/domains/proof.example')).verified, true);

    const run = await cli(['dkim', 'add', 'proof.example', '--customer', t.customer, '--algorithm', 'ed25519', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(printed), ['domain', 'selector', 'algorithm', 'dnsName', 'dnsValue']);
    assert.equal(printed.domain, 'proof.example');
    assert.equal(printed.dnsName, `${printed.selector}._domainkey.proof.example`);
    // A key for another customer's domain is refused.
    const other = await tenant('verify-infra');
    const refused = await h.admin('POST', '/api/admin/v1/dkim', { domain: 'proof.example', customer: other.customer });
    assert.equal(refused.status, 409);
    // So is a subdomain or a parent of it, which would let one customer sign in the other's name space.
    for (const domain of ['news.proof.example', 'eu.news.proof.example']) {
      const overlap = await h.admin('POST', '/api/admin/v1/domains', { domain, customer: other.customer });
      assert.equal(overlap.status, 409);
      assert.match(overlap.body.detail, /overlaps proof\.example, a sending domain of another customer/);
    }
    assert.equal((await h.admin('POST', '/api/admin/v1/domains', { domain: 'news.proof.example', customer: t.customer })).status, 201);
  });

  test('keys travel with the domain: after a switch to another infrastructure the signature is the same; imported keys sign', async () => {
    assert.ok(brand, 'the signing test ran first');
    const before = signatures(await send(brand.credentials.smtp, 'news@brand.example', 'before-switch@example.com'));
    await admin('POST', '/infrastructures', { name: 'brand-infra-2', relays: [sink.relay] }, 201);
    const instance = await h.app.services.fleet.instanceByName(brand.instance);
    const next = (await h.app.repositories.fleet.findInfrastructure({ name: 'brand-infra-2' }))!;
    await h.app.repositories.fleet.rebindInstance(instance.id, next.id);
    const after = signatures(await send(brand.credentials.smtp, 'news@brand.example', 'after-switch@example.com'));
    assert.deepEqual(
      after.map((sig) => [sig.get('d'), sig.get('s'), sig.get('a')]),
      before.map((sig) => [sig.get('d'), sig.get('s'), sig.get('a')]),
    );

    // An existing key (say one an infrastructure signed with) imported under its selector.
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const t = await tenant('import-infra', {});
    await admin('POST', '/domains', { domain: 'imported.example', customer: t.customer, verified: true }, 201);
    const imported: Key = await admin('POST', '/dkim/import', { domain: 'imported.example', customer: t.customer, selector: 'legacy', privateKey: pem }, 201);
    assert.deepEqual([imported.selector, imported.algorithm, imported.state], ['legacy', 'rsa', 'active']);
    publish([imported]);
    const raw = await send(t.credentials.smtp, 'news@imported.example', 'imported@example.com');
    assert.deepEqual(
      (await verifyWithMailauth(raw, dns.servers)).map((v) => [v.selector, v.result]),
      [['legacy', 'pass']],
    );
    const bad = await h.admin('POST', '/api/admin/v1/dkim/import', {
      domain: 'imported.example',
      customer: t.customer,
      selector: 'x',
      privateKey: 'not a key',
    });
    assert.equal(bad.status, 400);
    assert.doesNotMatch(JSON.stringify(await admin('GET', '/dkim?domain=imported.example')), /PRIVATE KEY|MII[A-Za-z0-9+/]{60,}={0,2}"\}/);
  });

  test('bad input is refused with the reason', async () => {
    const t = await tenant('input-infra', {});
    const cases: [string, unknown, number, RegExp][] = [
      ['/domains', { domain: 'localhost', customer: t.customer }, 400, /not a domain name/],
      ['/domains', { domain: 'a..example', customer: t.customer }, 400, /not a domain name/],
      ['/domains', { domain: 'fine.example', customer: 'nobody' }, 404, /no customer/],
      ['/dkim', { domain: 'fine.example', customer: t.customer, algorithm: 'dsa' }, 400, /rsa.*ed25519/],
      ['/dkim', { domain: 'fine.example', customer: t.customer, bits: 512 }, 400, /bits/],
      ['/dkim', { domain: 'fine.example', customer: t.customer, selector: 'a.b' }, 400, /selector/],
      ['/infrastructures', { name: 'bad-policy', relays: [sink.relay], unverifiedFrom: 'maybe' }, 400, /unverifiedFrom/],
    ];
    for (const [path, body, status, detail] of cases) {
      const res = await h.admin('POST', `/api/admin/v1${path}`, body);
      assert.equal(res.status, status, `${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.detail, detail);
    }
    assert.equal((await h.admin('POST', '/api/admin/v1/domains/unknown.example/dkim/rotate', {})).status, 404);
    assert.equal((await h.admin('GET', '/api/admin/v1/domains/unknown.example/check')).status, 404);
  });
});

test('a node given another secret key than the one that sealed the DKIM keys refuses to start', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { randomBytes } = await import('node:crypto');
  const [sealing, other] = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-sealed-'));
  try {
    const first = await startHarness({ MAILSHIFT_SECRET_KEY: sealing }, { dataDir });
    try {
      assert.equal((await first.admin('POST', '/api/admin/v1/customers', { name: 'sealed' })).status, 201);
      assert.equal((await first.admin('POST', '/api/admin/v1/dkim', { domain: 'sealed.example', customer: 'sealed' })).status, 201);
    } finally {
      await first.close();
    }
    await assert.rejects(startHarness({ MAILSHIFT_SECRET_KEY: other }, { dataDir }), /the secret key does not open the DKIM keys/);
    const again = await startHarness({ MAILSHIFT_SECRET_KEY: sealing }, { dataDir });
    await again.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
