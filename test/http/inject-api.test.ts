import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { assertProblem } from './assert-problem.ts';

const message = { from: 'news@shop.example', to: ['ann@example.com'], subject: 'Hello', text: 'hi' };

describe('instance API (app.inject)', () => {
  let h: InjectApp;
  let key: string;
  let otherKey: string;

  before(async () => {
    h = await injectApp();
    key = (await h.instance('shop')).apiKey;
    otherKey = (await h.instance('other')).apiKey;
  });
  after(() => h.close());

  describe('auth', () => {
    const routes: [string, string, unknown?][] = [
      ['POST', '/api/v1/messages', message],
      ['POST', '/api/v1/messages/batch', { from: 'a@shop.example', subject: 's', text: 't', recipients: [{ to: 'b@example.com' }] }],
      ['GET', '/api/v1/messages/01abc'],
      ['GET', '/api/v1/upgrade/status'],
      ['POST', '/api/v1/upgrade/reschedule-request', {}],
      ['POST', '/api/v1/upgrade/opt-out', {}],
      ['GET', '/api/v1/suppressions'],
      ['POST', '/api/v1/suppressions', { address: 'a@example.com' }],
      ['DELETE', '/api/v1/suppressions/a@example.com'],
      ['GET', '/api/v1/webhooks'],
      ['POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/' }],
      ['DELETE', '/api/v1/webhooks/1'],
    ];
    for (const [method, url, body] of routes) {
      test(`${method} ${url}: no key is 401 auth-required, a wrong key 401 auth-failed`, async () => {
        assertProblem(await h.call(method, url, body), 401, 'auth-required');
        assertProblem(await h.call(method, url, body, { authorization: 'Basic eDp5' }), 401, 'auth-required');
        // One source per route: ten failures from one source lock it.
        const wrong = await h.app.inject({
          method: method as 'GET',
          url,
          remoteAddress: `10.1.0.${routes.findIndex((r) => r[1] === url && r[0] === method) + 1}`,
          headers: { authorization: 'Bearer ms_000000000000_notavalidkeyatallxxxxxxxxxxxxxx' },
        });
        assert.equal(wrong.statusCode, 401);
        assert.match(String(wrong.headers['content-type']), /^application\/problem\+json/);
        assert.equal(wrong.json().code, 'auth-failed');
      });
    }

    test('wrong keys from one source end in 429 with Retry-After, and then the right key is refused there too', async () => {
      const from = (remoteAddress: string, token: string) =>
        h.app.inject({ method: 'GET', url: '/api/v1/upgrade/status', remoteAddress, headers: { authorization: `Bearer ${token}` } });
      let locked: Awaited<ReturnType<typeof from>> | undefined;
      for (let i = 0; i < 20 && !locked; i++) {
        const res = await from('10.2.0.1', `ms_${i.toString(16).padStart(12, '0')}_${'x'.repeat(32)}`);
        if (res.statusCode === 429) locked = res;
        else assert.equal(res.statusCode, 401);
      }
      assert.ok(locked, 'the source locks');
      assert.equal(locked.json().code, 'rate-limited');
      assert.ok(Number(locked.headers['retry-after']) >= 1);
      const right = await from('10.2.0.1', key);
      assert.equal(right.statusCode, 429);
      assert.equal((await from('10.2.0.2', key)).statusCode, 200);
    });
  });

  describe('POST /api/v1/messages', () => {
    test('202 with the id, the distinct recipients and the suppressed ones', async () => {
      const res = await h.api(key, 'POST', '/api/v1/messages', { ...message, to: ['ann@example.com', 'ANN@example.com', 'bob@example.com'] });
      assert.equal(res.status, 202, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['id', 'recipients', 'suppressed']);
      assert.equal(res.body.recipients, 2);
      assert.deepEqual(res.body.suppressed, []);
      assert.equal(res.headers['idempotent-replayed'], undefined);
    });

    test('raw MIME takes its envelope from its own headers', async () => {
      const raw = 'From: a@shop.example\r\nTo: raw@example.com\r\nSubject: r\r\n\r\nbody\r\n';
      const res = await h.api(key, 'POST', '/api/v1/messages', { raw });
      assert.equal(res.status, 202, res.text);
      const view = await h.api(key, 'GET', `/api/v1/messages/${res.body.id}`);
      assert.deepEqual(
        view.body.deliveries.map((d: { recipient: string }) => d.recipient),
        ['raw@example.com'],
      );
      assert.equal(view.body.message.mailFrom, 'a@shop.example');
    });

    const invalid: [string, unknown][] = [
      ['a body that is not an object', [message]],
      ['an object where a string belongs', { ...message, subject: { a: 'x' } }],
      ['more than 1000 addresses in to', { ...message, to: Array.from({ length: 1001 }, (_, i) => `r${i}@example.com`) }],
      ['more than 1000 raw recipients', { raw: 'Subject: x\r\n\r\nx\r\n', recipients: Array.from({ length: 1001 }, (_, i) => `r${i}@example.com`) }],
      ['a header value that is not a string', { ...message, headers: { 'X-A': { b: 1 } } }],
      ['more than 100 attachments', { ...message, attachments: Array.from({ length: 101 }, () => ({ filename: 'a.txt', content: 'eA==' })) }],
      ['an attachment without content', { ...message, attachments: [{ filename: 'a.txt' }] }],
      ['no from', { to: ['a@example.com'], text: 'x' }],
    ];
    for (const [what, body] of invalid) {
      test(`${what} is 400 invalid-request`, async () => assertProblem(await h.api(key, 'POST', '/api/v1/messages', body), 400, 'invalid-request'));
    }

    test('unknown fields are dropped, not refused', async () => {
      assert.equal((await h.api(key, 'POST', '/api/v1/messages', { ...message, priority: 'high' })).status, 202);
    });

    test('an Idempotency-Key longer than 255 characters is 400', async () => {
      assertProblem(await h.api(key, 'POST', '/api/v1/messages', message, { 'idempotency-key': 'k'.repeat(256) }), 400, 'invalid-request');
    });
  });

  describe('idempotency', () => {
    test('the same key and request is answered once: the retry replays the answer and says so', async () => {
      const first = await h.api(key, 'POST', '/api/v1/messages', message, { 'idempotency-key': 'same-1' });
      const again = await h.api(key, 'POST', '/api/v1/messages', message, { 'idempotency-key': 'same-1' });
      assert.equal(first.status, 202);
      assert.equal(again.status, 202);
      assert.deepEqual(again.body, first.body);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      assert.equal(again.headers['idempotent-replayed'], 'true');
    });

    test('the same key with a different request is 422 idempotency-mismatch', async () => {
      assert.equal((await h.api(key, 'POST', '/api/v1/messages', message, { 'idempotency-key': 'mismatch-1' })).status, 202);
      assertProblem(
        await h.api(key, 'POST', '/api/v1/messages', { ...message, text: 'other' }, { 'idempotency-key': 'mismatch-1' }),
        422,
        'idempotency-mismatch',
      );
    });

    test('keys belong to an instance: another instance with the same key sends its own message', async () => {
      const mine = await h.api(key, 'POST', '/api/v1/messages', message, { 'idempotency-key': 'shared-1' });
      const theirs = await h.api(otherKey, 'POST', '/api/v1/messages', message, { 'idempotency-key': 'shared-1' });
      assert.equal(theirs.status, 202);
      assert.notEqual(theirs.body.id, mine.body.id);
      assert.equal(theirs.headers['idempotent-replayed'], undefined);
    });

    test('an empty key is no key', async () => {
      const a = await h.api(key, 'POST', '/api/v1/messages', message, { 'idempotency-key': '' });
      const b = await h.api(key, 'POST', '/api/v1/messages', message, { 'idempotency-key': '' });
      assert.notEqual(a.body.id, b.body.id);
    });
  });

  describe('POST /api/v1/messages/batch', () => {
    const batch = {
      from: 'news@shop.example',
      subject: 'Hi {{ name }}',
      text: 'Dear {{ name }}',
      recipients: [{ to: 'a@example.com', substitutions: { name: 'A' } }, { to: 'b@example.com' }],
    };

    test('202 with one message per recipient; a retry with the key replays', async () => {
      const res = await h.api(key, 'POST', '/api/v1/messages/batch', batch, { 'idempotency-key': 'batch-1' });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.accepted, 2);
      assert.equal(res.body.messages.length, 2);
      assert.deepEqual(res.body.suppressed, []);
      const again = await h.api(key, 'POST', '/api/v1/messages/batch', batch, { 'idempotency-key': 'batch-1' });
      assert.deepEqual(again.body, res.body);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      const first = await h.api(key, 'GET', `/api/v1/messages/${res.body.messages[0].id}`);
      assert.equal(first.body.deliveries[0].recipient, 'a@example.com');
    });

    const invalid: [string, unknown][] = [
      ['no recipients', { ...batch, recipients: [] }],
      ['a recipient without to', { ...batch, recipients: [{ substitutions: {} }] }],
      ['substitutions that are not an object', { ...batch, recipients: [{ to: 'a@example.com', substitutions: 'x' }] }],
      ['no subject', { from: batch.from, text: 'x', recipients: batch.recipients }],
      ['more than 10,000 recipients', { ...batch, recipients: Array.from({ length: 10_001 }, (_, i) => ({ to: `r${i}@example.com` })) }],
    ];
    for (const [what, body] of invalid) {
      test(`${what} is 400 invalid-request`, async () => assertProblem(await h.api(key, 'POST', '/api/v1/messages/batch', body), 400, 'invalid-request'));
    }
  });

  describe('GET /api/v1/messages/:id', () => {
    test('an instance sees its own message with exactly the view fields; another instance gets 404', async () => {
      const sent = await h.api(key, 'POST', '/api/v1/messages', message);
      const own = await h.api(key, 'GET', `/api/v1/messages/${sent.body.id}`);
      assert.equal(own.status, 200);
      assert.deepEqual(Object.keys(own.body.message).sort(), ['createdAt', 'headerMessageId', 'id', 'instanceId', 'mailFrom', 'size']);
      assert.deepEqual(Object.keys(own.body.deliveries[0]).sort(), ['attempts', 'dueAt', 'id', 'lastCategory', 'lastReply', 'recipient', 'state']);
      assert.equal(own.body.deliveries[0].state, 'scheduled');
      assert.equal(own.body.events[0].type, 'accepted');
      assert.deepEqual(own.body.events[0].detail, { recipients: 1, size: own.body.message.size });
      assert.match(own.body.message.createdAt, /^\d{4}-\d\d-\d\dT/);
      const theirs = await h.api(otherKey, 'GET', `/api/v1/messages/${sent.body.id}`);
      assertProblem(theirs, 404, 'not-found');
      assert.equal(theirs.body.detail, (await h.api(otherKey, 'GET', '/api/v1/messages/no-such-id')).body.detail.replace('no-such-id', sent.body.id));
    });
  });

  describe('upgrades', () => {
    test('GET /api/v1/upgrade/status without a program: not-scheduled', async () => {
      const res = await h.api(key, 'GET', '/api/v1/upgrade/status');
      assert.equal(res.status, 200);
      assert.equal(res.body.instance, 'shop');
      assert.equal(res.body.state, 'not-scheduled');
    });

    for (const [path, code] of [
      ['reschedule-request', 'reschedule-refused'],
      ['opt-out', 'opt-out-refused'],
    ]) {
      test(`POST /api/v1/upgrade/${path}: refused with the reason, with or without a body; a bad reason is 400`, async () => {
        assertProblem(await h.api(key, 'POST', `/api/v1/upgrade/${path}`, { reason: 'Black Friday' }), 409, code);
        assertProblem(await h.api(key, 'POST', `/api/v1/upgrade/${path}`), 409, code);
        assertProblem(await h.api(key, 'POST', `/api/v1/upgrade/${path}`, { reason: { text: 'x' } }), 400, 'invalid-request');
        // A long reason is recorded as far as the record keeps it, and answered like any other.
        assert.equal((await h.api(key, 'POST', `/api/v1/upgrade/${path}`, { reason: 'r'.repeat(5000) })).status, 409);
      });
    }
  });

  test('every instance route is in /api/openapi.json with its response schema and the apiKey scheme', async () => {
    const doc = (await h.call('GET', '/api/openapi.json')).body;
    const expected: [string, string, string][] = [
      ['/api/v1/messages', 'post', '202'],
      ['/api/v1/messages/batch', 'post', '202'],
      ['/api/v1/messages/{id}', 'get', '200'],
      ['/api/v1/upgrade/status', 'get', '200'],
      ['/api/v1/upgrade/reschedule-request', 'post', '4XX'],
      ['/api/v1/upgrade/opt-out', 'post', '4XX'],
      ['/api/v1/suppressions', 'get', '200'],
      ['/api/v1/suppressions', 'post', '201'],
      ['/api/v1/suppressions/{address}', 'delete', '204'],
      ['/api/v1/webhooks', 'get', '200'],
      ['/api/v1/webhooks', 'post', '201'],
      ['/api/v1/webhooks/{id}', 'delete', '204'],
    ];
    for (const [path, method, status] of expected) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method} ${path} is documented`);
      assert.ok(op.responses[status], `${method} ${path} documents ${status}`);
      assert.ok(op.responses['4XX'].content['application/json'].schema.$ref.endsWith('/Problem'), `${method} ${path}: problems`);
      assert.deepEqual(op.security, [{ apiKey: [] }]);
      assert.ok(op.summary && op.tags?.length, `${method} ${path} has a summary and tags`);
    }
    const view = doc.paths['/api/v1/messages/{id}'].get.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(view.properties).sort(), ['deliveries', 'events', 'message']);
    const accepted = doc.paths['/api/v1/messages'].post.responses['202'].content['application/json'].schema;
    assert.deepEqual(Object.keys(accepted.properties).sort(), ['id', 'recipients', 'suppressed']);
    const body = doc.paths['/api/v1/messages'].post.requestBody.content['application/json'].schema;
    assert.equal(body.properties.to.maxItems, 1000);
  });
});
