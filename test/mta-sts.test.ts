import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsTestServer, type DnsRecords } from './helpers/dns-server.ts';
import type { Sink } from './helpers/sink.ts';
import { testCertificates } from './helpers/test-certificates.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { attemptOnce, startTlsSinks } from './helpers/transport.ts';

const policies: Record<string, string> = {
  'sts.example': 'version: STSv1\nmode: enforce\nmx: mx-ca.tls.example\nmax_age: 86400\n',
  'sts-self.example': 'version: STSv1\nmode: enforce\nmx: mx-self.tls.example\nmax_age: 86400\n',
  'sts-other.example': 'version: STSv1\nmode: enforce\nmx: *.elsewhere.example\nmax_age: 86400\n',
  'sts-testing.example': 'version: STSv1\nmode: testing\nmx: mx-self.tls.example\nmax_age: 86400\n',
};

/**
 * MTA-STS (RFC 8461) for an infrastructure that enforces it: the `_mta-sts` TXT record on the
 * loopback DNS server, the policy over HTTPS from `mta-sts.<domain>` (a certificate of the
 * test CA), MX hosts with the test CA's certificate and a self-signed one.
 */
describe('MTA-STS', () => {
  let h: Harness;
  let dns: DnsTestServer;
  let sinks: Sink[];
  let https: Server;
  let dir: string;
  const fetched = new Map<string, number>();
  const keys = new Map<string, string>();

  before(async () => {
    const certs = await testCertificates();
    const { selfSigned, signed, port } = await startTlsSinks(certs);
    sinks = [selfSigned, signed];
    const [first, ...more] = Object.keys(policies).map((d) => `mta-sts.${d}`);
    https = createServer(await certs.signed(first, ...more), (req, res) => {
      const domain = String(req.headers.host).replace(/^mta-sts\./, '');
      fetched.set(domain, (fetched.get(domain) ?? 0) + 1);
      const policy = req.url === '/.well-known/mta-sts.txt' ? policies[domain] : undefined;
      res.writeHead(policy ? 200 : 404, { 'content-type': 'text/plain' }).end(policy ?? 'no');
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.6', r));
    const zone: Record<string, DnsRecords> = { 'mx-self.tls.example': { A: ['127.0.0.2'] }, 'mx-ca.tls.example': { A: ['127.0.0.3'] } };
    for (const domain of Object.keys(policies)) {
      zone[domain] = { MX: [{ exchange: domain.includes('self') || domain.includes('testing') ? 'mx-self.tls.example' : 'mx-ca.tls.example', priority: 10 }] };
      zone[`_mta-sts.${domain}`] = { TXT: ['v=STSv1; id=20261206'] };
      zone[`mta-sts.${domain}`] = { A: ['127.0.0.6'] };
    }
    dns = await DnsTestServer.start(zone);
    dir = mkdtempSync(join(tmpdir(), 'mailshift-sts-'));
    writeFileSync(join(dir, 'ca.pem'), certs.ca);
    h = await startHarness(
      { MAILSHIFT_DNS_SERVERS: dns.servers, MAILSHIFT_MX_ALLOW_NETWORKS: '127.0.0.0/8', MAILSHIFT_TLS_CA_FILE: join(dir, 'ca.pem') },
      { mx: { mtaStsPort: (https.address() as AddressInfo).port } },
    );
    keys.set('enforcing', (await h.instance('enforcing', [], { infrastructure: { deliveryMode: 'mx', mxPort: port, mtaSts: true } })).apiKey);
    keys.set('ignoring', (await h.instance('ignoring', [], { infrastructure: { deliveryMode: 'mx', mxPort: port } })).apiKey);
  });
  after(async () => {
    await h.close();
    await Promise.all([...sinks.map((s) => s.close()), dns.close(), new Promise((r) => https.close(r))]);
    rmSync(dir, { recursive: true, force: true });
  });

  const attempt = async (infra: string, to: string) => (await attemptOnce(h, keys.get(infra)!, to, 15_000)).delivery;

  test('enforce: a policy MX host whose certificate verifies gets the mail; the policy is fetched once', async () => {
    assert.equal((await attempt('enforcing', 'a@sts.example')).state, 'delivered');
    assert.equal((await attempt('enforcing', 'b@sts.example')).state, 'delivered');
    assert.equal(fetched.get('sts.example'), 1);
  });

  test('enforce: a self-signed certificate on the policy’s MX host is deferred; without enforcement it is delivered', async () => {
    const d = await attempt('enforcing', 'c@sts-self.example');
    assert.equal(d.state, 'scheduled');
    assert.match(d.lastReply, /TLS required \(policy verify\).*self[- ]signed/i);
    assert.equal(sinks[0].messages.filter((m) => m.recipients.includes('c@sts-self.example')).length, 0);
    assert.equal((await attempt('ignoring', 'd@sts-self.example')).state, 'delivered');
  });

  test('enforce: MX hosts the policy does not name are not used', async () => {
    const d = await attempt('enforcing', 'e@sts-other.example');
    assert.equal(d.state, 'scheduled');
    assert.match(d.lastReply, /MTA-STS: no MX host of sts-other\.example is one its policy names \(\*\.elsewhere\.example\)/);
  });

  test('testing mode delivers as usual', async () => {
    assert.equal((await attempt('enforcing', 'f@sts-testing.example')).state, 'delivered');
    assert.equal(fetched.get('sts-testing.example'), 1);
  });
});
