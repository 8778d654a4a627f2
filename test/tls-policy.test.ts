import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsTestServer } from './helpers/dns-server.ts';
import { Sink } from './helpers/sink.ts';
import { testCertificates } from './helpers/test-certificates.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { attemptOnce, startTlsSinks } from './helpers/transport.ts';

/**
 * Outbound TLS policies against MX hosts on loopback: one offers STARTTLS with a
 * self-signed certificate, one with a certificate of a test CA (trusted through
 * MAILSHIFT_TLS_CA_FILE), one offers no STARTTLS.
 */
describe('outbound TLS policy', () => {
  let h: Harness;
  let dns: DnsTestServer;
  let sinks: Sink[];
  let dir: string;
  const keys = new Map<string, string>();

  before(async () => {
    const certs = await testCertificates();
    const { selfSigned, signed, port } = await startTlsSinks(certs);
    const plain = await Sink.start(undefined, { listen: { address: '127.0.0.4', port } });
    sinks = [selfSigned, signed, plain];
    const mx = (exchange: string) => ({ MX: [{ exchange, priority: 10 }] });
    dns = await DnsTestServer.start({
      'self.example': mx('mx-self.tls.example'),
      'mx-self.tls.example': { A: ['127.0.0.2'] },
      'ca.example': mx('mx-ca.tls.example'),
      'mx-ca.tls.example': { A: ['127.0.0.3'] },
      // The CA's certificate, but for another name than the MX host's.
      'misnamed.example': mx('other.tls.example'),
      'other.tls.example': { A: ['127.0.0.3'] },
      'plain.example': mx('mx-plain.tls.example'),
      'mx-plain.tls.example': { A: ['127.0.0.4'] },
    });
    dir = mkdtempSync(join(tmpdir(), 'mailshift-tls-'));
    writeFileSync(join(dir, 'ca.pem'), certs.ca);
    h = await startHarness({ MAILSHIFT_DNS_SERVERS: dns.servers, MAILSHIFT_MX_ALLOW_NETWORKS: '127.0.0.0/8', MAILSHIFT_TLS_CA_FILE: join(dir, 'ca.pem') });
    const infrastructures: Record<string, Record<string, unknown>> = {
      opportunistic: {},
      required: { tls: 'required' },
      verify: { tls: 'verify' },
      // Opportunistic, but stricter for two destinations.
      'per-destination': {
        shaping: [
          { domain: 'plain.example', tls: 'required' },
          { domain: 'self.example', tls: 'verify' },
        ],
      },
    };
    for (const [name, extra] of Object.entries(infrastructures)) {
      const creds = await h.instance(name, [], { infrastructure: { deliveryMode: 'mx', mxPort: port, ...extra } });
      keys.set(name, creds.apiKey);
    }
  });
  after(async () => {
    await h.close();
    await Promise.all([...sinks.map((s) => s.close()), dns.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends one message through `infra` to `to`; its delivery once attempted, and the TLS its event recorded. */
  const attempt = (infra: string, to: string) => attemptOnce(h, keys.get(infra)!, to);

  const received = (i: number, to: string) => sinks[i].messages.find((m) => m.recipients.includes(to));

  test('opportunistic: TLS when offered, whatever the certificate, plaintext otherwise; each outcome recorded', async () => {
    const self = await attempt('opportunistic', 'a@self.example');
    assert.equal(self.delivery.state, 'delivered', self.delivery.lastReply);
    assert.equal(received(0, 'a@self.example')?.secure, true);
    assert.match(self.tls?.version ?? '', /^TLSv1\.[23]$/);
    assert.equal(self.tls?.verified, false);

    const signed = await attempt('opportunistic', 'a@ca.example');
    assert.equal(signed.delivery.state, 'delivered', signed.delivery.lastReply);
    assert.equal(signed.tls?.verified, true);

    const plain = await attempt('opportunistic', 'a@plain.example');
    assert.equal(plain.delivery.state, 'delivered', plain.delivery.lastReply);
    assert.equal(received(2, 'a@plain.example')?.secure, false);
    assert.equal(plain.tls, null);
  });

  test('required: any certificate will do, but no STARTTLS means deferred with a reply that says so', async () => {
    const self = await attempt('required', 'b@self.example');
    assert.equal(self.delivery.state, 'delivered', self.delivery.lastReply);
    assert.equal(self.tls?.verified, false);

    const plain = await attempt('required', 'b@plain.example');
    assert.equal(plain.delivery.state, 'scheduled');
    assert.match(plain.delivery.lastReply, /TLS required \(policy required\).*offers no STARTTLS/);
    assert.equal(received(2, 'b@plain.example'), undefined);
  });

  test('verify: the test CA’s certificate for the MX host’s name passes; self-signed and misnamed ones are deferred', async () => {
    const signed = await attempt('verify', 'c@ca.example');
    assert.equal(signed.delivery.state, 'delivered', signed.delivery.lastReply);
    assert.equal(signed.tls?.verified, true);
    assert.equal(received(1, 'c@ca.example')?.secure, true);

    const self = await attempt('verify', 'c@self.example');
    assert.equal(self.delivery.state, 'scheduled');
    assert.match(self.delivery.lastReply, /TLS required \(policy verify\).*self[- ]signed/i);
    assert.equal(received(0, 'c@self.example'), undefined);

    const misnamed = await attempt('verify', 'c@misnamed.example');
    assert.equal(misnamed.delivery.state, 'scheduled');
    assert.match(misnamed.delivery.lastReply, /TLS required \(policy verify\).*(altnames|does not match)/i);

    const plain = await attempt('verify', 'c@plain.example');
    assert.equal(plain.delivery.state, 'scheduled');
    assert.match(plain.delivery.lastReply, /offers no STARTTLS/);
  });

  test('a destination rule’s policy overrides the infrastructure’s', async () => {
    const plain = await attempt('per-destination', 'd@plain.example');
    assert.equal(plain.delivery.state, 'scheduled');
    assert.match(plain.delivery.lastReply, /TLS required \(policy required\)/);
    const self = await attempt('per-destination', 'd@self.example');
    assert.equal(self.delivery.state, 'scheduled');
    assert.match(self.delivery.lastReply, /policy verify/);
    const signed = await attempt('per-destination', 'd@ca.example');
    assert.equal(signed.delivery.state, 'delivered', signed.delivery.lastReply);
    // The infrastructure's own opportunistic policy: its hosts were not marked down by the refusals above.
    const again = await attempt('opportunistic', 'e@self.example');
    assert.equal(again.delivery.state, 'delivered', again.delivery.lastReply);
  });

  test('the infrastructure shows its policy and the rules theirs', async () => {
    const list = (await h.admin('GET', '/api/admin/v1/infrastructures')).body.infrastructures as { name: string; tls: string; shaping: { tls?: string }[] }[];
    assert.equal(list.find((i) => i.name === 'infra-verify')?.tls, 'verify');
    assert.equal(list.find((i) => i.name === 'infra-opportunistic')?.tls, 'opportunistic');
    assert.deepEqual(
      list.find((i) => i.name === 'infra-per-destination')?.shaping.map((r) => r.tls),
      ['required', 'verify'],
    );
    const bad = await h.admin('POST', '/api/admin/v1/infrastructures', { name: 'bad-tls', deliveryMode: 'mx', tls: 'sometimes' });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /tls must be one of opportunistic, required, verify/);
  });
});
