import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsTestServer } from './helpers/dns-server.ts';
import { createDnsResolver, defaultDnsCachePolicy, type DnsResolver } from '../src/engine/dns-resolver.ts';
import type { Clock } from '../src/core/clock.ts';

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let t = 1_700_000_000_000;
  return { now: () => t, sleep: async () => {}, advance: (ms) => (t += ms) };
}

// Issue 10, item 4: DNS through the operator's servers, cached by TTL.
describe('DNS through MAILSHIFT_DNS_SERVERS, cached', () => {
  let dns: DnsTestServer;
  let clock: ReturnType<typeof manualClock>;
  let resolver: DnsResolver;
  before(async () => {
    dns = await DnsTestServer.start({
      'shop.example': { MX: [{ exchange: 'mx.shop.example', priority: 10 }], TXT: ['v=spf1 -all'] },
      'mx.shop.example': { A: ['192.0.2.10'], ttl: 30 },
      'broken.example': { rcode: 'SERVFAIL' },
      'bare.example': { A: ['192.0.2.20'] },
    });
    clock = manualClock();
    resolver = createDnsResolver([dns.servers], clock, { ...defaultDnsCachePolicy, maxEntries: 3 });
  });
  after(() => dns.close());

  test('an address is asked once within its TTL, and again after it', async () => {
    assert.deepEqual(await resolver.resolve4('mx.shop.example'), ['192.0.2.10']);
    assert.deepEqual(await resolver.resolve4('MX.shop.example.'), ['192.0.2.10']);
    assert.equal(dns.queries.get('mx.shop.example/A'), 1);
    clock.advance(29_000);
    await resolver.resolve4('mx.shop.example');
    assert.equal(dns.queries.get('mx.shop.example/A'), 1, 'within the record’s 30 s TTL');
    clock.advance(2_000);
    await resolver.resolve4('mx.shop.example');
    assert.equal(dns.queries.get('mx.shop.example/A'), 2, 'past the TTL');
  });

  test('MX and TXT answers are kept for the fixed time; simultaneous look-ups share one query', async () => {
    const [a, b] = await Promise.all([resolver.resolveMx('shop.example'), resolver.resolveMx('shop.example')]);
    assert.deepEqual(a, [{ exchange: 'mx.shop.example', priority: 10 }]);
    assert.deepEqual(b, a);
    assert.equal(dns.queries.get('shop.example/MX'), 1);
    assert.deepEqual(await resolver.resolveTxt('shop.example'), [['v=spf1 -all']]);
    clock.advance(defaultDnsCachePolicy.fixedTtlMs - 1);
    await resolver.resolveMx('shop.example');
    assert.equal(dns.queries.get('shop.example/MX'), 1);
    clock.advance(1);
    await resolver.resolveMx('shop.example');
    assert.equal(dns.queries.get('shop.example/MX'), 2);
  });

  test('NXDOMAIN and NODATA are kept briefly; SERVFAIL is asked again each time', async () => {
    await assert.rejects(resolver.resolveMx('nowhere.example'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolveMx('nowhere.example'), { code: 'ENOTFOUND' });
    assert.equal(dns.queries.get('nowhere.example/MX'), 1);
    await assert.rejects(resolver.resolveMx('bare.example'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolveMx('bare.example'), { code: 'ENODATA' });
    assert.equal(dns.queries.get('bare.example/MX'), 1);
    clock.advance(defaultDnsCachePolicy.negativeTtlMs);
    await assert.rejects(resolver.resolveMx('nowhere.example'), { code: 'ENOTFOUND' });
    assert.equal(dns.queries.get('nowhere.example/MX'), 2);

    await assert.rejects(resolver.resolveMx('broken.example'), { code: 'ESERVFAIL' });
    await assert.rejects(resolver.resolveMx('broken.example'), { code: 'ESERVFAIL' });
    assert.equal(dns.queries.get('broken.example/MX'), 2);
  });

  test('the cache is bounded: past its size the oldest answer is asked again', async () => {
    // A fresh cache of three: shop MX, bare A, mx A fill it; a fourth name pushes shop MX out.
    const small = createDnsResolver([dns.servers], clock, { ...defaultDnsCachePolicy, maxEntries: 3 });
    const before = dns.queries.get('shop.example/MX') ?? 0;
    await small.resolveMx('shop.example');
    await small.resolve4('bare.example');
    await small.resolve4('mx.shop.example');
    await small.resolveMx('shop.example');
    assert.equal(dns.queries.get('shop.example/MX'), before + 1, 'still kept');
    await small.resolveTxt('shop.example');
    await small.resolveMx('shop.example');
    assert.equal(dns.queries.get('shop.example/MX'), before + 2, 'evicted, asked again');
  });
});
