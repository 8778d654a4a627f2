import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminToken } from '../helpers/harness.ts';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { assertLocked, assertProblem, expectStatus, injectFrom, untilLocked } from './operator-requests.ts';

const admin = '/api/admin/v1';
const zeroQueue = { scheduled: 0, inflight: 0, delivered: 0, bounced: 0, expired: 0, suppressed: 0 };
const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----';

describe('admin API (app.inject)', () => {
  let h: InjectApp;
  let apiKey: string;

  before(async () => {
    h = await injectApp();
    apiKey = (await h.instance('shop')).apiKey;
  });
  after(() => h.close());

  describe('admin token', () => {
    const routes: [string, string, unknown?][] = [
      ['GET', `${admin}/customers`],
      ['POST', `${admin}/customers`, { name: 'x' }],
      ['GET', `${admin}/infrastructures`],
      ['POST', `${admin}/infrastructures`, { name: 'x' }],
      ['GET', `${admin}/instances`],
      ['POST', `${admin}/instances`, {}],
      ['GET', `${admin}/instances/shop`],
      ['POST', `${admin}/instances/shop/suspend`, {}],
      ['POST', `${admin}/instances/shop/resume`, {}],
      ['GET', `${admin}/instances/shop/suppressions`],
      ['GET', `${admin}/instances/shop/webhooks`],
      ['GET', `${admin}/queue`],
      ['GET', `${admin}/messages/01abc`],
      ['GET', `${admin}/capture/messages`],
      ['DELETE', `${admin}/capture/messages`],
    ];
    routes.forEach(([method, url, body], i) => {
      test(`${method} ${url}: no token is 401 auth-required, a wrong one 401 auth-failed, an instance key too`, async () => {
        assertProblem(await h.call(method, url, body), 401, 'auth-required');
        assertProblem(await injectFrom(h, `10.2.0.${i + 1}`, method, url, { authorization: 'Bearer not-the-admin-token' }, body), 401, 'auth-failed');
        assertProblem(await injectFrom(h, `10.2.1.${i + 1}`, method, url, { authorization: `Bearer ${apiKey}` }, body), 401, 'auth-failed');
      });
    });

    test('wrong tokens from one source end in 429 with Retry-After; the right token is refused there, not elsewhere', async () => {
      const from = (source: string, token: string) => injectFrom(h, source, 'GET', `${admin}/queue`, { authorization: `Bearer ${token}` });
      assertLocked(await untilLocked((i) => from('10.3.0.1', `guess-${i}`)));
      assertLocked(await from('10.3.0.1', adminToken));
      expectStatus(await from('10.3.0.2', adminToken), 200);
    });
  });

  describe('customers', () => {
    test('create with defaults for locale and time zone; list; a second one of the name is 409', async () => {
      const created = expectStatus(
        await h.admin('POST', `${admin}/customers`, {
          name: 'acme',
          contacts: [{ email: 'ops@acme.example' }, { email: 'cto@acme.example', locale: 'es-ES', timezone: 'Europe/Madrid' }],
        }),
        201,
      );
      assert.deepEqual(created.contacts, [
        { email: 'ops@acme.example', locale: 'en', timezone: 'UTC' },
        { email: 'cto@acme.example', locale: 'es-ES', timezone: 'Europe/Madrid' },
      ]);
      assert.equal(created.name, 'acme');
      assert.ok(!Number.isNaN(Date.parse(created.createdAt)));
      const list = expectStatus(await h.admin('GET', `${admin}/customers`), 200);
      assert.deepEqual(
        list.customers.find((c: { name: string }) => c.name === 'acme'),
        created,
      );
      assertProblem(await h.admin('POST', `${admin}/customers`, { name: 'acme' }), 409, 'conflict');
    });

    test('refusals: shape from the schema, values from the fleet checks, both problem+json', async () => {
      assertProblem(await h.admin('POST', `${admin}/customers`, {}), 400, 'invalid-request');
      assertProblem(await h.admin('POST', `${admin}/customers`, { name: 'x', contacts: [{ email: { a: 1 } }] }), 400, 'invalid-request');
      const badName = await h.admin('POST', `${admin}/customers`, { name: 'no spaces' });
      assertProblem(badName, 400, 'invalid-request');
      assert.match(badName.body.detail, /customer name must be/);
      assertProblem(
        await h.admin('POST', `${admin}/customers`, { name: 'zoned', contacts: [{ email: 'a@zoned.example', timezone: 'Mars/Olympus' }] }),
        400,
        'invalid-request',
      );
      assertProblem(await h.admin('POST', `${admin}/customers`, { name: 'bad-mail', contacts: [{ email: 'not-an-address' }] }), 400, 'invalid-address');
      assertProblem(await h.admin('POST', `${admin}/customers`, '{"name":'), 400, 'invalid-request');
      assert.ok(
        !(await h.admin('GET', `${admin}/customers`)).body.customers.some((c: { name: string }) => ['x', 'zoned', 'bad-mail'].includes(c.name)),
        'nothing refused was stored',
      );
    });
  });

  describe('infrastructures', () => {
    test('create shows relays as HOST:PORT and DKIM keys without the private key', async () => {
      const body = {
        name: 'eu-relays',
        relays: ['relay1.example.net:2525', 'relay2.example.net', '[2001:db8::1]:587'],
        heloName: 'mta.example.net',
        sourceAddresses: ['192.0.2.10'],
        dkim: [{ domain: 'Shop.Example', selector: 's1', privateKey: pem }],
        shaping: [{ domain: 'gmail.com', maxConnections: 3, rate: '100/m' }],
        verificationAddress: 'canary@example.net',
      };
      const created = expectStatus(await h.admin('POST', `${admin}/infrastructures`, body), 201);
      assert.deepEqual(created.relays, ['relay1.example.net:2525', 'relay2.example.net:25', '[2001:db8::1]:587']);
      assert.deepEqual(created.dkim, [{ domain: 'shop.example', selector: 's1' }]);
      assert.deepEqual(created.shaping, [{ domain: 'gmail.com', maxConnections: 3, maxMessagesPerConnection: 100, rate: '100/m' }]);
      assert.equal(created.deliveryMode, 'relay');
      assert.ok(!JSON.stringify(created).includes('PRIVATE KEY'));
      const list = expectStatus(await h.admin('GET', `${admin}/infrastructures`), 200);
      assert.deepEqual(
        list.infrastructures.find((i: { name: string }) => i.name === 'eu-relays'),
        created,
      );
    });

    test('an MX infrastructure needs no relay and gets a verification address under its HELO name', async () => {
      const created = expectStatus(await h.admin('POST', `${admin}/infrastructures`, { name: 'direct', deliveryMode: 'mx', heloName: 'out.example.org' }), 201);
      assert.deepEqual(created.relays, []);
      assert.equal(created.verificationAddress, 'mailshift-verify@out.example.org');
      assert.equal(created.bounceDomain, null);
    });

    test('a bounce domain is kept lower-cased', async () => {
      const created = expectStatus(
        await h.admin('POST', `${admin}/infrastructures`, { name: 'verp', relays: ['a.example:25'], bounceDomain: 'Bounces.Example.NET' }),
        201,
      );
      assert.equal(created.bounceDomain, 'bounces.example.net');
    });

    test('refusals name the field', async () => {
      const cases: [unknown, RegExp][] = [
        [{ name: 'r1' }, /at least one relay/],
        [{ name: 'r2', relays: ['bad host:x'] }, /relay must be HOST:PORT/],
        [{ name: 'r3', relays: ['a.example:2525'], deliveryMode: 'carrier-pigeon' }, /deliveryMode must be/],
        [{ name: 'r4', relays: ['a.example:2525'], sourceAddresses: ['not-an-ip'] }, /sourceAddresses/],
        [{ name: 'r5', relays: ['a.example:2525'], shaping: [{ domain: '*', rate: 'lots' }] }, /rate for \*/],
        [{ name: 'r6', relays: ['a.example:2525'], dkim: [{ domain: 'a.example', selector: 's', privateKey: 'nope' }] }, /PEM privateKey/],
        [{ name: 'r7', relays: 'a.example:2525:1' }, /relay/],
        [{ name: 'r8', deliveryMode: 'mx', tls: 'sometimes' }, /tls must be one of opportunistic, required, verify/],
        [{ name: 'r9', deliveryMode: 'mx', mxPort: 0 }, /mxPort must be a port number/],
        [{ name: 'r10', relays: [{ address: 'a.example:587', user: 'u' }] }, /needs both user and password/],
        [{ name: 'r11', relays: [{ address: 'a.example:587', user: 'u', password: 'p\r\nRSET' }] }, /password must be/],
        [{ name: 'r12', relays: ['a.example:2525'], shaping: [{ domain: 'gmail.com', tls: 'maybe' }] }, /tls for gmail\.com must be/],
        [{ name: 'r13', relays: ['a.example:2525'], bounceDomain: 'localhost' }, /bounceDomain must be a domain name/],
        [{ name: 'r14', relays: ['a.example:2525'], bounceDomain: 'bad_label.example.net' }, /bounceDomain/],
      ];
      for (const [body, detail] of cases) {
        const res = await h.admin('POST', `${admin}/infrastructures`, body);
        assertProblem(res, 400, 'invalid-request');
        assert.match(res.body.detail, detail, JSON.stringify(body));
      }
      assertProblem(await h.admin('POST', `${admin}/infrastructures`, { name: 'eu-relays', relays: ['a.example:25'] }), 409, 'conflict');
    });
  });

  describe('instances', () => {
    test('create shows the credentials once; list and detail carry the queue; unknown names are 404', async () => {
      expectStatus(await h.admin('POST', `${admin}/customers`, { name: 'beta' }), 201);
      const created = expectStatus(
        await h.admin('POST', `${admin}/instances`, {
          name: 'beta-prod',
          customer: 'beta',
          productLine: 'classic-managed',
          environment: 'production',
          infrastructure: 'eu-relays',
          allowFrom: ['10.0.0.0/24'],
        }),
        201,
      );
      assert.equal(created.credentials.smtp.username, 'beta-prod');
      assert.match(created.credentials.apiKey, /^ms_[0-9a-f]{12}_/);
      assert.deepEqual(
        { ...created.instance, createdAt: undefined },
        {
          name: 'beta-prod',
          customer: 'beta',
          productLine: 'classic-managed',
          environment: 'production',
          infrastructure: 'eu-relays',
          suspended: false,
          suspendedAt: null,
          suspendedReason: null,
          allowFrom: ['10.0.0.0/24'],
          system: false,
          createdAt: undefined,
          listUnsubscribe: false,
        },
      );
      const list = expectStatus(await h.admin('GET', `${admin}/instances`), 200);
      const row = list.instances.find((i: { name: string }) => i.name === 'beta-prod');
      assert.deepEqual(row, { ...created.instance, queue: zeroQueue });
      assert.ok(!JSON.stringify(list).includes(created.credentials.smtp.password), 'the password is shown only once');
      const detail = expectStatus(await h.admin('GET', `${admin}/instances/beta-prod`), 200);
      assert.deepEqual({ ...detail, recentEvents: undefined }, { ...row, recentEvents: undefined });
      assert.deepEqual(detail.recentEvents, []);
      assertProblem(await h.admin('GET', `${admin}/instances/nobody`), 404, 'not-found');
    });

    test('refusals: unknown customer or infrastructure 404; bad product line, environment or CIDR 400; a duplicate 409', async () => {
      const base = { name: 'gamma', customer: 'beta', productLine: 'managed-cloud', environment: 'staging', infrastructure: 'eu-relays' };
      assertProblem(await h.admin('POST', `${admin}/instances`, { ...base, customer: 'nobody' }), 404, 'not-found');
      assertProblem(await h.admin('POST', `${admin}/instances`, { ...base, infrastructure: 'nowhere' }), 404, 'not-found');
      const product = await h.admin('POST', `${admin}/instances`, { ...base, productLine: 'deluxe' });
      assertProblem(product, 400, 'invalid-request');
      assert.match(product.body.detail, /product line must be one of classic-managed, managed-cloud, standard-on-demand/);
      assertProblem(await h.admin('POST', `${admin}/instances`, { ...base, environment: 'qa' }), 400, 'invalid-request');
      assertProblem(await h.admin('POST', `${admin}/instances`, { ...base, allowFrom: ['10.0.0.0/99'] }), 400, 'invalid-request');
      assertProblem(await h.admin('POST', `${admin}/instances`, { name: 'gamma' }), 400, 'invalid-request');
      assertProblem(await h.admin('POST', `${admin}/instances`, { ...base, name: 'beta-prod' }), 409, 'conflict');
    });

    test('suspend (with or without a body) and resume', async () => {
      const suspended = expectStatus(await h.admin('POST', `${admin}/instances/beta-prod/suspend`, { reason: 'maintenance' }), 200);
      assert.equal(suspended.instance, 'beta-prod');
      assert.equal(suspended.suspended, true);
      assert.equal(suspended.alreadySuspended, false);
      assert.ok(!Number.isNaN(Date.parse(suspended.since)));
      const again = expectStatus(await h.admin('POST', `${admin}/instances/beta-prod/suspend`), 200);
      assert.equal(again.alreadySuspended, true);
      const detail = expectStatus(await h.admin('GET', `${admin}/instances/beta-prod`), 200);
      assert.equal(detail.suspended, true);
      assert.equal(detail.suspendedReason, 'maintenance');

      const resumed = expectStatus(await h.admin('POST', `${admin}/instances/beta-prod/resume`, {}), 200);
      assert.deepEqual(Object.keys(resumed).sort(), ['heldMs', 'instance', 'released', 'suspended']);
      assert.equal(resumed.suspended, false);
      assert.equal(resumed.released, 0);
      assert.deepEqual(expectStatus(await h.admin('POST', `${admin}/instances/beta-prod/resume`), 200), {
        instance: 'beta-prod',
        suspended: false,
        heldMs: 0,
        released: 0,
        wasSuspended: false,
      });

      expectStatus(await h.admin('POST', `${admin}/instances/beta-prod/suspend`, {}), 200);
      assert.equal((await h.admin('GET', `${admin}/instances/beta-prod`)).body.suspendedReason, 'operator', 'the default reason');
      expectStatus(await h.admin('POST', `${admin}/instances/beta-prod/resume`), 200);
      assertProblem(await h.admin('POST', `${admin}/instances/nobody/suspend`, {}), 404, 'not-found');
      assertProblem(await h.admin('POST', `${admin}/instances/nobody/resume`, {}), 404, 'not-found');
    });

    test('suppressions and webhooks of any instance, under its name', async () => {
      const base = `${admin}/instances/beta-prod`;
      expectStatus(await h.admin('POST', `${base}/suppressions`, { address: 'Gone@Example.com', reason: 'left' }), 201);
      const list = expectStatus(await h.admin('GET', `${base}/suppressions`), 200);
      assert.deepEqual(
        list.suppressions.map((s: { address: string; reason: string }) => [s.address, s.reason]),
        [['gone@example.com', 'left']],
      );
      expectStatus(await h.admin('DELETE', `${base}/suppressions/gone@example.com`), 204);
      assert.deepEqual((await h.admin('GET', `${base}/suppressions`)).body.suppressions, []);
      assert.deepEqual(expectStatus(await h.admin('GET', `${base}/webhooks`), 200), { webhooks: [] });
      assertProblem(await h.admin('GET', `${admin}/instances/nobody/suppressions`), 404, 'not-found');
    });
  });

  describe('queue and messages', () => {
    test('a message accepted through the instance API is counted and can be read with its deliveries', async () => {
      const before = expectStatus(await h.admin('GET', `${admin}/queue`), 200);
      assert.deepEqual(Object.keys(before.total), Object.keys(zeroQueue));
      const accepted = expectStatus(
        await h.api(apiKey, 'POST', '/api/v1/messages', {
          from: 'news@shop.example',
          to: ['ann@example.com', 'bob@example.org'],
          subject: 'Hi',
          text: 'hello',
        }),
        202,
      );
      await h.composed.services.acceptor.flush();
      const queue = expectStatus(await h.admin('GET', `${admin}/queue`), 200);
      assert.equal(queue.total.scheduled, before.total.scheduled + 2);
      assert.deepEqual(queue.instances.shop, { ...zeroQueue, scheduled: 2 });
      assert.deepEqual(queue.instances['beta-prod'], zeroQueue, 'every instance is listed, idle ones with zeros');

      const shown = expectStatus(await h.admin('GET', `${admin}/messages/${accepted.id}`), 200);
      assert.equal(shown.message.id, accepted.id);
      assert.equal(shown.message.mailFrom, 'news@shop.example');
      assert.deepEqual(shown.deliveries.map((d: { recipient: string; state: string }) => `${d.recipient}:${d.state}`).sort(), [
        'ann@example.com:scheduled',
        'bob@example.org:scheduled',
      ]);
      assert.ok(shown.events.some((e: { type: string }) => e.type === 'accepted'));
      const detail = expectStatus(await h.admin('GET', `${admin}/instances/shop`), 200);
      assert.equal(detail.queue.scheduled, 2);
      assert.ok(detail.recentEvents.some((e: { type: string; messageId: string }) => e.type === 'accepted' && e.messageId === accepted.id));

      const shop = await h.composed.services.fleet.instanceByName('shop');
      await h.composed.repositories.events.addEvents([
        { instanceId: shop.id, type: 'deferred', at: Date.now(), detail: { reply: '451 try later', category: 'transient', attempt: 1 } },
      ]);
      const latest = expectStatus(await h.admin('GET', `${admin}/instances/shop`), 200).recentEvents[0];
      assert.equal(latest.type, 'deferred');
      assert.deepEqual(latest.detail, { reply: '451 try later', category: 'transient', attempt: 1 }, 'the detail is shown whole');

      assertProblem(await h.admin('GET', `${admin}/messages/01nosuchmessage`), 404, 'not-found');
    });
  });

  describe('capture', () => {
    test('lists captured mail newest first with subject and Message-ID, the source on request; clearing empties it', async () => {
      const captures = h.composed.repositories.captures;
      await captures.add(
        'a@shop.example',
        ['x@example.com'],
        Buffer.from('From: a@shop.example\r\nSubject: First\r\nMessage-ID: <1@shop.example>\r\n\r\nbody one'),
        1000,
      );
      await captures.add('b@shop.example', ['y@example.com', 'z@example.com'], Buffer.from('From: b@shop.example\r\nSubject: Second\r\n\r\nbody two'), 2000);
      await captures.add(
        'c@shop.example',
        ['w@example.com'],
        Buffer.from('Subject: no From, so not a message mailshift would accept\r\n\r\nstill listed'),
        3000,
      );
      const list = expectStatus(await h.admin('GET', `${admin}/capture/messages`), 200);
      assert.deepEqual(
        list.messages.map((m: Record<string, unknown>) => [m.mailFrom, m.subject, m.messageId, m.recipients, 'raw' in m]),
        [
          ['c@shop.example', null, null, ['w@example.com'], false],
          ['b@shop.example', 'Second', null, ['y@example.com', 'z@example.com'], false],
          ['a@shop.example', 'First', '<1@shop.example>', ['x@example.com'], false],
        ],
      );
      assert.equal(list.messages[2].receivedAt, new Date(1000).toISOString());
      const one = expectStatus(await h.admin('GET', `${admin}/capture/messages?limit=1&raw=true`), 200);
      assert.equal(one.messages.length, 1);
      assert.equal(one.messages[0].raw, 'Subject: no From, so not a message mailshift would accept\r\n\r\nstill listed');
      assert.equal(expectStatus(await h.admin('GET', `${admin}/capture/messages?limit=1001`), 200).messages.length, 3);
      for (const query of ['limit=0', 'limit=abc', 'raw=maybe'])
        assertProblem(await h.admin('GET', `${admin}/capture/messages?${query}`), 400, 'invalid-request');
      expectStatus(await h.admin('DELETE', `${admin}/capture/messages`), 204);
      assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/capture/messages`), 200), { messages: [] });
    });
  });

  test('an unknown admin route is 404 problem+json', async () => {
    assertProblem(await h.admin('GET', `${admin}/nothing-here`), 404, 'not-found');
  });
});
