import { systemClock } from '../src/system-clock.ts';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkSpf } from '../src/app/spf-check.ts';
import { createDnsResolver } from '../src/engine/dns-resolver.ts';
import { DnsTestServer, type DnsRecords } from './helpers/dns-server.ts';

// A chain of ten includes uses the whole look-up budget; the eleventh is one too many.
const chain: Record<string, DnsRecords> = {};
for (let i = 0; i < 11; i++) chain[`l${i}.chain.example`] = { TXT: [`v=spf1 include:l${i + 1}.chain.example -all`] };
chain['l11.chain.example'] = { TXT: ['v=spf1 ip4:192.0.2.1 -all'] };

const zone: Record<string, DnsRecords> = {
  'ip.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all', 'unrelated=1'] },
  'a.example': { TXT: ['v=spf1 a a:out.a.example/28 ~all'], A: ['198.51.100.7'] },
  'out.a.example': { A: ['203.0.113.16'] },
  'mx.example': { TXT: ['v=spf1 mx -all'], MX: [{ exchange: 'mail.mx.example', priority: 10 }] },
  'mail.mx.example': { A: ['198.51.100.25'], AAAA: ['2001:db8:25::1'] },
  'redirect.example': { TXT: ['v=spf1 redirect=ip.example'] },
  'nested.example': { TXT: ['v=spf1 include:a.example include:mx.example ?all'] },
  'two.example': { TXT: ['v=spf1 -all', 'v=spf1 +all'] },
  'broken-include.example': { TXT: ['v=spf1 include:nothing.example -all'] },
  'flaky.example': { TXT: ['v=spf1 include:servfail.example -all'] },
  'servfail.example': { rcode: 'SERVFAIL' },
  'none.example': { TXT: ['some other record'] },
  ...chain,
};

describe('SPF evaluation over DNS (RFC 7208 check_host)', () => {
  let server: DnsTestServer;
  let dns: ReturnType<typeof createDnsResolver>;
  before(async () => {
    server = await DnsTestServer.start(zone);
    dns = createDnsResolver([server.servers], systemClock);
  });
  after(() => server.close());

  const cases: [domain: string, ip: string, result: string, detail?: RegExp][] = [
    ['ip.example', '192.0.2.77', 'pass', /ip4:192\.0\.2\.0\/24/],
    ['ip.example', '2001:db8::9', 'pass', /ip6:/],
    ['ip.example', '198.51.100.1', 'fail', /-all/],
    ['a.example', '198.51.100.7', 'pass', /"a"/],
    ['a.example', '203.0.113.20', 'pass', /a:out\.a\.example\/28/],
    ['a.example', '203.0.113.40', 'softfail'],
    ['mx.example', '198.51.100.25', 'pass', /"mx"/],
    ['mx.example', '2001:db8:25::1', 'pass'],
    ['mx.example', '198.51.100.26', 'fail'],
    ['redirect.example', '192.0.2.5', 'pass'],
    ['redirect.example', '10.0.0.1', 'fail'],
    ['nested.example', '198.51.100.25', 'pass', /mx\.example/],
    ['nested.example', '192.0.2.5', 'neutral', /\?all/],
    ['two.example', '192.0.2.5', 'permerror', /2 SPF records/],
    ['broken-include.example', '192.0.2.5', 'permerror', /include:nothing\.example has no SPF record/],
    ['flaky.example', '192.0.2.5', 'temperror'],
    ['none.example', '192.0.2.5', 'none'],
    ['missing.example', '192.0.2.5', 'none'],
    ['l1.chain.example', '192.0.2.1', 'pass'],
    ['l0.chain.example', '192.0.2.1', 'permerror', /more than 10 DNS look-ups/],
  ];
  for (const [domain, ip, result, detail] of cases) {
    test(`${domain} for ${ip}: ${result}`, async () => {
      const verdict = await checkSpf(dns, domain, ip);
      assert.equal(verdict.result, result, verdict.detail);
      if (detail) assert.match(verdict.detail, detail);
    });
  }
});
