import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Sink } from './helpers/sink.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';
import { resolveRoute, type MxResolver, type RoutePolicy } from '../src/engine/routes.ts';
import type { Infrastructure } from '../src/core/fleet/fleet.ts';

/**
 * DNS as the test says: MX and A records per name; every other name does not exist, except
 * those in `failing`, whose A look-up fails (SERVFAIL).
 */
function fakeDns(mx: Record<string, string[]>, a: Record<string, string[]>, failing: string[] = []): MxResolver & { asked: string[] } {
  const asked: string[] = [];
  const missing = (name: string) => Object.assign(new Error(`queryX ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return {
    asked,
    async resolveMx(domain) {
      asked.push(domain);
      if (!mx[domain]) throw missing(domain);
      return mx[domain].map((exchange, i) => ({ exchange, priority: 10 * (i + 1) }));
    },
    async resolve4(host) {
      if (failing.includes(host)) throw Object.assign(new Error(`queryA ESERVFAIL ${host}`), { code: 'ESERVFAIL' });
      if (!a[host]) throw missing(host);
      return a[host];
    },
    async resolve6(host) {
      throw Object.assign(new Error(`queryAaaa ENODATA ${host}`), { code: 'ENODATA' });
    },
  };
}

/** A port that records every connection made to it and answers nothing. */
async function trap(): Promise<{ server: Server; port: number; connections: number }> {
  const t = { server: createServer((s) => (t.connections++, s.destroy())), port: 0, connections: 0 };
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

async function deliveryOf(h: Harness, key: string, id: string, final: string[]): Promise<{ state: string; lastReply: string; lastCategory: string }> {
  let d: { state: string; lastReply: string; lastCategory: string } | undefined;
  await eventually(
    async () => {
      d = (await h.api(key, 'GET', `/api/v1/messages/${id}`)).body.deliveries[0];
      return final.includes(d!.state);
    },
    10_000,
    `delivery of ${id} to be ${final.join(' or ')}`,
  );
  return d!;
}

// Issue 7, item 5: direct-MX recipients never aim the engine inward.
describe('MX mode with no allowed networks', () => {
  let h: Harness;
  let listener: Awaited<ReturnType<typeof trap>>;
  const dns = fakeDns(
    { 'inward.example': ['mx.inward.example'], 'mixed.example': ['mx1.mixed.example'], 'flaky.example': ['mx1.flaky.example', 'mx2.flaky.example'] },
    { 'mx.inward.example': ['127.0.0.1'], 'mx1.mixed.example': ['10.1.2.3', '127.0.0.2'], 'mx2.flaky.example': ['127.0.0.1'] },
    ['mx1.flaky.example'],
  );
  before(async () => {
    listener = await trap();
    h = await startHarness({ MAILSHIFT_MX_ALLOW_NETWORKS: '' }, { mx: { resolver: dns, port: listener.port } });
  });
  after(async () => {
    await h.close();
    listener.server.close();
  });

  test('x@[127.0.0.1] bounces at once with a generic reply, and nothing is connected to', async () => {
    const creds = await h.instance('direct', [], { infrastructure: { deliveryMode: 'mx' } });
    const sink = await Sink.start();
    try {
      const neighbour = await h.instance('neighbour', [sink.relay]);
      const sent = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['x@[127.0.0.1]'], subject: 's', text: 't' });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const good = await h.api(neighbour.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['ok@example.com'], subject: 's', text: 't' });
      const d = await deliveryOf(h, creds.apiKey, sent.body.id, ['bounced', 'delivered', 'scheduled']);
      assert.equal(d.state, 'bounced');
      assert.equal(d.lastCategory, 'policy');
      assert.equal(d.lastReply, '550 5.7.1 destination address not permitted');
      assert.equal(listener.connections, 0, 'no connection to the literal address');
      await sink.waitFor(1, 2000);
      assert.equal((await deliveryOf(h, neighbour.apiKey, good.body.id, ['delivered'])).state, 'delivered');
      // Policy refusals say nothing about the address: it is not suppressed.
      assert.deepEqual((await h.api(creds.apiKey, 'GET', '/api/v1/suppressions')).body.suppressions, []);
    } finally {
      await sink.close();
    }
  });

  test('an MX host that resolves to loopback, or only to private addresses, is refused the same way', async () => {
    const creds = await h.instance('direct2', [], { infrastructure: { deliveryMode: 'mx' } });
    for (const to of ['y@inward.example', 'z@mixed.example', 'w@[IPv6:::ffff:127.0.0.1]']) {
      const sent = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: [to], subject: 's', text: 't' });
      assert.equal(sent.status, 202, `${to}: ${JSON.stringify(sent.body)}`);
      const d = await deliveryOf(h, creds.apiKey, sent.body.id, ['bounced', 'delivered', 'scheduled']);
      assert.equal(d.state, 'bounced', to);
      assert.equal(d.lastReply, '550 5.7.1 destination address not permitted', to);
      assert.doesNotMatch(d.lastReply, /127\.0\.0|10\.1\.2|mx\.inward/);
    }
    assert.ok(dns.asked.includes('inward.example'));
    assert.equal(listener.connections, 0);
  });

  test('one MX host failing to resolve for a moment and another resolving inward: deferred, not bounced', async () => {
    const creds = await h.instance('direct3', [], { infrastructure: { deliveryMode: 'mx' } });
    const sent = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['v@flaky.example'], subject: 's', text: 't' });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await eventually(
      async () => (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${sent.body.id}`)).body.deliveries[0].attempts === 1,
      10_000,
      'the attempt',
    );
    const d = (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${sent.body.id}`)).body.deliveries[0];
    assert.equal(d.state, 'scheduled', JSON.stringify(d));
    assert.match(d.lastReply, /^DNS: /);
    assert.doesNotMatch(d.lastReply, /127\.0\.0/);
    assert.equal(listener.connections, 0);
  });
});

describe('MX routes (resolveRoute)', () => {
  const infra = { deliveryMode: 'mx', relays: [] } as unknown as Infrastructure;
  const policy = (resolver: MxResolver, lookupTimeoutMs?: number): RoutePolicy => ({ resolver, allowNetworks: [], mxPort: 25, lookupTimeoutMs });

  test('DNS that does not answer defers the delivery after the look-up timeout', async () => {
    const hung: MxResolver = {
      resolveMx: () => new Promise(() => undefined),
      resolve4: () => new Promise(() => undefined),
      resolve6: () => new Promise(() => undefined),
    };
    const started = Date.now();
    const route = await resolveRoute(infra, 'slow.example', 0, policy(hung, 100));
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.equal(route.ok, false);
    assert.equal(!route.ok && route.permanent, false, 'deferred');
    assert.match(!route.ok ? route.reply.text : '', /took more than 100 ms/);
    // An address look-up that hangs is bounded the same way.
    const halfHung: MxResolver = { ...hung, resolveMx: async () => [{ exchange: 'mx.slow.example', priority: 10 }] };
    const second = await resolveRoute(infra, 'slow.example', 0, policy(halfHung, 100));
    assert.equal(!second.ok && second.permanent, false);
  });

  test('a reserved address bounces only when every look-up answered', async () => {
    const dns = fakeDns({ 'a.example': ['mx1.a.example', 'mx2.a.example'] }, { 'mx2.a.example': ['10.0.0.1'] }, ['mx1.a.example']);
    const flaky = await resolveRoute(infra, 'a.example', 0, policy(dns));
    assert.equal(!flaky.ok && flaky.permanent, false, 'mx1 failed to resolve: deferred');
    const settled = fakeDns({ 'a.example': ['mx1.a.example', 'mx2.a.example'] }, { 'mx2.a.example': ['10.0.0.1'] });
    const refused = await resolveRoute(infra, 'a.example', 0, policy(settled));
    assert.equal(!refused.ok && refused.permanent, true, 'mx1 has no address, mx2 points inward: refused');
    // A public address found beside a failed look-up is used.
    const partial = fakeDns({ 'a.example': ['mx1.a.example', 'mx2.a.example'] }, { 'mx2.a.example': ['93.184.215.14'] }, ['mx1.a.example']);
    assert.deepEqual(await resolveRoute(infra, 'a.example', 0, policy(partial)), {
      ok: true,
      hosts: [{ host: '93.184.215.14', port: 25, servername: 'mx2.a.example' }],
    });
  });
});

describe('MX mode: a silent MX host serving many domains', () => {
  let h: Harness;
  const sockets = new Set<import('node:net').Socket>();
  let connections = 0;
  const silent = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const domains = Array.from({ length: 50 }, (_, i) => `hosted${i}.example`);
  const dns = fakeDns(Object.fromEntries(domains.map((d) => [d, ['mx.hoster.example']])), { 'mx.hoster.example': ['127.0.0.1'] });
  before(async () => {
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    h = await startHarness({ MAILSHIFT_CONNECT_TIMEOUT_MS: '1000' }, { mx: { resolver: dns, port: (silent.address() as AddressInfo).port } });
  });
  after(async () => {
    await h.close();
    for (const s of sockets) s.destroy();
    silent.close();
  });

  test('is marked down once, by its address, for all of them; their deliveries wait in the spool', async () => {
    const creds = await h.instance('hosted', [], { infrastructure: { deliveryMode: 'mx' } });
    const to = domains.flatMap((d) => [`a@${d}`, `b@${d}`, `c@${d}`, `d@${d}`]);
    assert.equal((await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to, subject: 's', text: 't' })).status, 202);
    const engine = h.app.services.engine;
    const hop = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    await eventually(() => engine.downHops().some((d) => d.hop === hop), 10_000, 'the MX address marked down');
    await eventually(async () => (await h.admin('GET', '/api/admin/v1/queue')).body.instances.hosted.inflight === 0, 10_000, 'nothing in flight');
    assert.equal((await h.admin('GET', '/api/admin/v1/queue')).body.instances.hosted.scheduled, 200);
    assert.ok(connections <= 10, `a few attempts, not three per domain: ${connections}`);
  });
});

describe('MX mode with loopback allowed (an operator choice)', () => {
  let h: Harness;
  let sink: Sink;
  const dns = fakeDns({ 'ok.example': ['mx.ok.example'], 'xn--bcher-kva.example': ['mx.ok.example'] }, { 'mx.ok.example': ['127.0.0.1'] });
  before(async () => {
    sink = await Sink.start();
    h = await startHarness({}, { mx: { resolver: dns, port: sink.port } });
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  test('delivers through the allowed MX; IDN domains go out as A-labels, UTF-8 local parts with SMTPUTF8', async () => {
    const creds = await h.instance('allowed', [], { infrastructure: { deliveryMode: 'mx' } });
    const to = ['plain@ok.example', 'leser@bücher.example', 'josé@ok.example'];
    for (const rcpt of to) {
      const sent = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: [rcpt], subject: 's', text: 't' });
      assert.equal(sent.status, 202, `${rcpt}: ${JSON.stringify(sent.body)}`);
    }
    await sink.waitFor(3, 10_000);
    // smtp-server shows A-labels decoded again; the relay test below reads the wire itself.
    assert.deepEqual(sink.messages.map((m) => m.recipients[0]).sort(), ['josé@ok.example', 'leser@bücher.example', 'plain@ok.example']);
    assert.ok(dns.asked.includes('xn--bcher-kva.example'), 'DNS asked for the A-label');
  });
});

describe('UTF-8 recipients and a relay without SMTPUTF8', () => {
  let h: Harness;
  let relay: SMTPServer;
  let port = 0;
  const received: string[] = [];
  /** RCPT commands as they came over the wire (smtp-server decodes A-labels in what it reports). */
  const commands: string[] = [];
  const quiet = () => undefined;
  before(async () => {
    relay = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      hideSMTPUTF8: true,
      logger: {
        trace: quiet,
        info: quiet,
        warn: quiet,
        error: quiet,
        fatal: quiet,
        debug: (...args: unknown[]) => {
          const line = args.filter((a) => typeof a === 'string').join(' ');
          if (/RCPT TO/i.test(line)) commands.push(line);
        },
      } as never,
      onData(stream, session, cb) {
        stream.resume();
        stream.on('end', () => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          cb();
        });
      },
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    port = (relay.server.address() as AddressInfo).port;
    h = await startHarness();
  });
  after(async () => {
    await h.close();
    await new Promise<void>((r) => relay.close(() => r()));
  });

  test('a non-ASCII local part is deferred with a clear reply; ASCII and IDN-domain mail still goes', async () => {
    const creds = await h.instance('utf8', [`127.0.0.1:${port}`]);
    const utf8 = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['josé@example.com'], subject: 's', text: 't' });
    const idn = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['jose@bücher.example'], subject: 's', text: 't' });
    assert.equal(utf8.status, 202, JSON.stringify(utf8.body));
    const d = await deliveryOf(h, creds.apiKey, utf8.body.id, ['scheduled', 'bounced', 'delivered']);
    await eventually(
      async () => (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${utf8.body.id}`)).body.deliveries[0].attempts === 1,
      10_000,
      'the attempt',
    );
    const view = (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${utf8.body.id}`)).body;
    assert.equal(view.deliveries[0].state, 'scheduled', JSON.stringify(d));
    assert.match(view.deliveries[0].lastReply, /does not offer SMTPUTF8/);
    await deliveryOf(h, creds.apiKey, idn.body.id, ['delivered']);
    assert.deepEqual(received, ['jose@bücher.example'], 'the UTF-8 address never reached the relay');
    assert.ok(
      commands.some((c) => c.includes('RCPT TO:<jose@xn--bcher-kva.example>')),
      `the IDN domain went out as A-labels: ${commands.join(' | ')}`,
    );
  });
});
