import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WarpClock } from '../src/warp-clock.ts';
import { DnsTestServer } from './helpers/dns-server.ts';
import { eventually, startHarness } from './helpers/harness.ts';
import { Sink } from './helpers/sink.ts';
import { ok, programBody, upgradeFleet } from './helpers/upgrade-fleet.ts';

test('a switch does not start while the target would fail SPF for the customer\u2019s domain; the operator sees why', async () => {
  const source = await Sink.start();
  const target = await Sink.start();
  const dns = await DnsTestServer.start({
    'delta.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
    '_dmarc.delta.example': { TXT: ['v=DMARC1; p=none'] },
  });
  const clock = new WarpClock();
  const h = await startHarness({ MAILSHIFT_DNS_SERVERS: dns.servers }, { clock });
  try {
    await upgradeFleet(h, source.relay, target.relay, [{ customer: 'delta', instances: [{ name: 'delta-0', environment: 'development' }] }]);
    // The target sends from 127.0.0.1, which delta.example's SPF does not list.
    await ok(h.admin('POST', '/api/admin/v1/infrastructures', { name: 'teal', relays: [target.relay], sourceAddresses: ['127.0.0.1'] }));
    await ok(h.admin('POST', '/api/admin/v1/domains', { domain: 'delta.example', customer: 'delta', verified: true }));
    const key = (await ok(h.admin('POST', '/api/admin/v1/dkim', { domain: 'delta.example', customer: 'delta', algorithm: 'ed25519' }))).body;
    dns.set(key.dnsName, { TXT: [key.dnsValue] });

    await ok(h.admin('POST', '/api/admin/v1/programs', programBody('spf', clock.now(), { to: 'teal', waveSize: 1, concurrency: 1 })));
    await ok(h.admin('POST', '/api/admin/v1/programs/spf/publish'));
    let instance: { state: string; error: string | null } | undefined;
    await eventually(
      async () => {
        const status = (await ok(h.admin('GET', '/api/admin/v1/programs/spf/status'))).body;
        instance = status.instances.find((i: { name: string }) => i.name === 'delta-0');
        return Boolean(instance?.error);
      },
      30_000,
      'the switch to fail its pre-check',
    );
    assert.match(
      instance?.error ?? '',
      /^sender-auth: sender authentication for infrastructure teal: SPF of delta\.example does not cover teal: 127\.0\.0\.1 fail/,
    );
    assert.match(instance?.error ?? '', /add ip4:127\.0\.0\.1/);
    const bound = (await ok(h.admin('GET', '/api/admin/v1/instances/delta-0'))).body;
    assert.equal(bound.infrastructure, 'blue', 'never moved');
    assert.equal(target.messages.length, 0, 'no canary was sent: the switch never started');
  } finally {
    await h.close();
    await source.close();
    await target.close();
    await dns.close();
  }
});
