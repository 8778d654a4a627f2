import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsTestServer } from './helpers/dns-server.ts';
import { Sink } from './helpers/sink.ts';
import { runCli } from './helpers/cli-run.ts';
import { adminToken, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { byPreference } from '../src/engine/routes.ts';

type Delivery = { state: string; attempts: number; lastReply: string; lastCategory: string };

/**
 * Direct-MX delivery end to end: a real DNS server on loopback (MAILSHIFT_DNS_SERVERS), MX
 * hosts that are sinks on distinct loopback addresses sharing one port (the infrastructure's
 * `mxPort`), and nothing listening on 127.0.0.4.
 */
describe('MX delivery over a loopback DNS server', () => {
  let h: Harness;
  let dns: DnsTestServer;
  let first: Sink;
  let second: Sink;
  let busy: Sink;
  let apiKey: string;

  before(async () => {
    first = await Sink.start(undefined, { listen: { address: '127.0.0.2' } });
    const port = first.port;
    second = await Sink.start(undefined, { listen: { address: '127.0.0.3', port } });
    busy = await Sink.start(() => ({ code: 451, message: '4.7.1 try again later' }), { listen: { address: '127.0.0.5', port } });
    dns = await DnsTestServer.start({
      // Listed worst first: the order is the preference's, not the answer's.
      'prio.example': {
        MX: [
          { exchange: 'mx2.prio.example', priority: 20 },
          { exchange: 'mx1.prio.example', priority: 10 },
        ],
      },
      'mx1.prio.example': { A: ['127.0.0.2'] },
      'mx2.prio.example': { A: ['127.0.0.3'] },
      'down.example': {
        MX: [
          { exchange: 'dead.down.example', priority: 5 },
          { exchange: 'alive.down.example', priority: 50 },
        ],
      },
      'dead.down.example': { A: ['127.0.0.4'] },
      'alive.down.example': { A: ['127.0.0.3'] },
      'busy.example': {
        MX: [
          { exchange: 'busy.busy.example', priority: 1 },
          { exchange: 'spare.busy.example', priority: 2 },
        ],
      },
      'busy.busy.example': { A: ['127.0.0.5'] },
      'spare.busy.example': { A: ['127.0.0.2'] },
      // No MX: the domain itself is the mail host.
      'implicit.example': { A: ['127.0.0.3'] },
      'nullmx.example': { MX: [{ exchange: '', priority: 0 }] },
      'servfail.example': { rcode: 'SERVFAIL' },
      'onlybusy.example': { MX: [{ exchange: 'busy.busy.example', priority: 1 }] },
    });
    h = await startHarness({ MAILSHIFT_DNS_SERVERS: dns.servers, MAILSHIFT_MX_ALLOW_NETWORKS: '127.0.0.0/8' });
    const made = await runCli(h.url, adminToken, ['infra', 'create', 'direct', '--mx', '--mx-port', String(port), '--json']);
    assert.equal(made.code, 0, made.stderr);
    const infra = JSON.parse(made.stdout);
    assert.equal(infra.deliveryMode, 'mx');
    assert.equal(infra.mxPort, port);
    await h.admin('POST', '/api/admin/v1/customers', { name: 'direct-co' });
    const created = await h.admin('POST', '/api/admin/v1/instances', {
      name: 'direct',
      customer: 'direct-co',
      productLine: 'managed-cloud',
      environment: 'production',
      infrastructure: 'direct',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    apiKey = created.body.credentials.apiKey;
  });
  after(async () => {
    await h.close();
    await Promise.all([first.close(), second.close(), busy.close(), dns.close()]);
  });

  async function send(to: string): Promise<string> {
    const sent = await h.api(apiKey, 'POST', '/api/v1/messages', { from: 'news@shop.example', to: [to], subject: 'hello', text: to });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    return sent.body.id;
  }

  async function settled(id: string, states = ['delivered', 'bounced']): Promise<Delivery> {
    let d: Delivery | undefined;
    await eventually(
      async () => {
        d = (await h.api(apiKey, 'GET', `/api/v1/messages/${id}`)).body.deliveries[0];
        return states.includes(d!.state) && d!.attempts > 0;
      },
      10_000,
      `the delivery of ${id}`,
    );
    return d!;
  }

  const received = (sink: Sink, to: string) => sink.messages.some((m) => m.recipients.includes(to));

  test('the most preferred MX host gets the mail', async () => {
    const d = await settled(await send('a@prio.example'));
    assert.equal(d.state, 'delivered', d.lastReply);
    assert.ok(received(first, 'a@prio.example'));
    assert.ok(!received(second, 'a@prio.example'));
  });

  test('an MX host that refuses connections: the next one takes the mail in the same attempt', async () => {
    const d = await settled(await send('b@down.example'));
    assert.equal(d.state, 'delivered', d.lastReply);
    assert.equal(d.attempts, 1);
    assert.ok(received(second, 'b@down.example'));
  });

  test('a 4xx at one MX host: the next one takes the mail in the same attempt', async () => {
    const d = await settled(await send('c@busy.example'));
    assert.equal(d.state, 'delivered', d.lastReply);
    assert.equal(d.attempts, 1);
    assert.equal(busy.attempts.get('c@busy.example'), 1, 'the busy host was asked first');
    assert.ok(received(first, 'c@busy.example'));
  });

  test('a 4xx at the only MX host is deferred with its reply', async () => {
    const d = await settled(await send('d@onlybusy.example'), ['scheduled']);
    assert.match(d.lastReply, /451/);
  });

  test('no MX record: the domain’s own address is the mail host', async () => {
    const d = await settled(await send('e@implicit.example'));
    assert.equal(d.state, 'delivered', d.lastReply);
    assert.ok(received(second, 'e@implicit.example'));
  });

  test('a domain that does not exist bounces at once as bad-domain, and its recipient is suppressed', async () => {
    const d = await settled(await send('f@nx-nowhere.example'));
    assert.equal(d.state, 'bounced');
    assert.equal(d.lastCategory, 'bad-domain');
    assert.equal(d.attempts, 1);
    assert.match(d.lastReply, /^550 5\.1\.2 .*NXDOMAIN/);
    const suppressions = (await h.api(apiKey, 'GET', '/api/v1/suppressions')).body.suppressions as { address: string }[];
    assert.ok(
      suppressions.some((s) => s.address === 'f@nx-nowhere.example'),
      JSON.stringify(suppressions),
    );
  });

  test('a null MX (RFC 7505) bounces at once', async () => {
    const d = await settled(await send('g@nullmx.example'));
    assert.equal(d.state, 'bounced');
    assert.equal(d.lastCategory, 'bad-domain');
    assert.match(d.lastReply, /^556 5\.1\.10/);
  });

  test('SERVFAIL is deferred, not bounced', async () => {
    const d = await settled(await send('h@servfail.example'), ['scheduled', 'bounced', 'delivered']);
    assert.equal(d.state, 'scheduled');
    assert.match(d.lastReply, /ESERVFAIL/);
  });
});

test('MX hosts of equal preference are shuffled, each preference in order', () => {
  const mx = [
    { exchange: 'c', priority: 20 },
    { exchange: 'a1', priority: 10 },
    { exchange: 'a2', priority: 10 },
    { exchange: 'a3', priority: 10 },
  ];
  const orders = new Set<string>();
  let seed = 7;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < 50; i++) {
    const order = byPreference(mx, random);
    assert.equal(order[3], 'c');
    assert.deepEqual([...order.slice(0, 3)].sort(), ['a1', 'a2', 'a3']);
    orders.add(order.join(','));
  }
  assert.ok(orders.size > 1, 'equal preferences do not always come in one order');
});
