import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { assertProblem } from './assert-problem.ts';
import Fastify from 'fastify';
import { suppressionRoutes, webhookRoutes } from '../../src/http/instance-routes.ts';
import { installProblemHandlers } from '../../src/http/problem.ts';
import { NameParams, Problem } from '../../src/http/schemas/common.ts';
import type { HttpApp } from '../../src/http/typed-app.ts';

describe('suppressions and webhooks (app.inject)', () => {
  let h: InjectApp;
  let key: string;
  let otherKey: string;

  before(async () => {
    h = await injectApp({ MAILSHIFT_MAX_WEBHOOKS: '3' });
    key = (await h.instance('shop')).apiKey;
    otherKey = (await h.instance('other')).apiKey;
  });
  after(() => h.close());

  describe('suppressions', () => {
    test('added once (201), then again (200, added: false); listed with its reason and time; mail to it is not sent', async () => {
      const first = await h.api(key, 'POST', '/api/v1/suppressions', { address: 'Gone@Example.com', reason: 'asked us' });
      assert.equal(first.status, 201, first.text);
      assert.deepEqual(first.body, { address: 'gone@example.com', added: true });
      const again = await h.api(key, 'POST', '/api/v1/suppressions', { address: 'gone@example.com' });
      assert.equal(again.status, 200);
      assert.equal(again.body.added, false);
      const list = await h.api(key, 'GET', '/api/v1/suppressions');
      assert.equal(list.status, 200);
      assert.equal(list.body.suppressions.length, 1);
      assert.deepEqual(Object.keys(list.body.suppressions[0]).sort(), ['address', 'createdAt', 'reason']);
      assert.equal(list.body.suppressions[0].reason, 'asked us');
      assert.match(list.body.suppressions[0].createdAt, /^\d{4}-\d\d-\d\dT.*Z$/);
      const sent = await h.api(key, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['gone@example.com', 'here@example.com'], text: 'x' });
      assert.deepEqual(sent.body.suppressed, ['gone@example.com']);
    });

    test('an internationalised domain is stored in its A-label form and removed in either form', async () => {
      const added = await h.api(key, 'POST', '/api/v1/suppressions', { address: 'ana@bücher.example' });
      assert.equal(added.body.address, 'ana@xn--bcher-kva.example');
      assert.equal(
        (await h.api(key, 'GET', '/api/v1/suppressions')).body.suppressions.some(
          (s: { address: string; reason: string }) => s.address === 'ana@xn--bcher-kva.example' && s.reason === 'added by API',
        ),
        true,
      );
      assert.equal((await h.api(key, 'DELETE', `/api/v1/suppressions/${encodeURIComponent('ana@bücher.example')}`)).status, 204);
      assertProblem(await h.api(key, 'DELETE', '/api/v1/suppressions/ana@xn--bcher-kva.example'), 404, 'not-found');
    });

    test('lists are per instance: another instance neither sees nor removes this one\u2019s', async () => {
      await h.api(key, 'POST', '/api/v1/suppressions', { address: 'mine@example.com' });
      const theirs = await h.api(otherKey, 'GET', '/api/v1/suppressions');
      assert.deepEqual(theirs.body.suppressions, []);
      assertProblem(await h.api(otherKey, 'DELETE', '/api/v1/suppressions/mine@example.com'), 404, 'not-found');
      assert.ok((await h.api(key, 'GET', '/api/v1/suppressions')).body.suppressions.some((s: { address: string }) => s.address === 'mine@example.com'));
      assert.equal((await h.api(key, 'DELETE', '/api/v1/suppressions/mine@example.com')).status, 204);
    });

    const invalid: [string, unknown, string][] = [
      ['no address', { reason: 'x' }, 'invalid-request'],
      ['an address longer than 320 characters', { address: `${'a'.repeat(64)}@${'b'.repeat(300)}.example` }, 'invalid-request'],
      ['a reason longer than 500 characters', { address: 'a@example.com', reason: 'r'.repeat(501) }, 'invalid-request'],
      ['a reason that is not text', { address: 'a@example.com', reason: { a: 1 } }, 'invalid-request'],
      ['something that is no address', { address: 'not an address' }, 'invalid-address'],
    ];
    for (const [what, body, code] of invalid) {
      test(`${what} is 400 ${code}`, async () => assertProblem(await h.api(key, 'POST', '/api/v1/suppressions', body), 400, code));
    }

    test('the operators\u2019 mount of the same routes acts on the named instance', async () => {
      await h.api(key, 'POST', '/api/v1/suppressions', { address: 'ops-view@example.com' });
      const list = await h.admin('GET', '/api/admin/v1/instances/shop/suppressions');
      assert.equal(list.status, 200, list.text);
      assert.ok(list.body.suppressions.some((s: { address: string }) => s.address === 'ops-view@example.com'));
      assert.equal((await h.admin('DELETE', '/api/admin/v1/instances/shop/suppressions/ops-view@example.com')).status, 204);
      assert.equal((await h.admin('GET', '/api/admin/v1/instances/other/suppressions')).body.suppressions.length, 0);
    });
  });

  test('mounted under a prefix with :name (the admin API\u2019s call shape), the name is validated and resolves the instance', async () => {
    const app = Fastify() as unknown as HttpApp;
    installProblemHandlers(app);
    app.addSchema(Problem);
    const services = h.composed.services;
    const byName = async (request: { params: unknown }) => services.fleet.instanceByName((request.params as { name: string }).name);
    const mount = { prefixParams: NameParams, security: [{ adminToken: [] }] };
    await app.register(async (scope) => {
      await suppressionRoutes(scope, services, '/ops/:name/suppressions', byName, mount);
      await webhookRoutes(scope, services, '/ops/:name/webhooks', byName, mount);
    });
    try {
      const added = await app.inject({ method: 'POST', url: '/ops/shop/suppressions', payload: { address: 'via-ops@example.com' } });
      assert.equal(added.statusCode, 201, added.body);
      assert.ok((await h.api(key, 'GET', '/api/v1/suppressions')).body.suppressions.some((s: { address: string }) => s.address === 'via-ops@example.com'));
      assert.equal((await app.inject({ method: 'DELETE', url: '/ops/shop/suppressions/via-ops@example.com' })).statusCode, 204);
      assert.equal((await app.inject({ method: 'DELETE', url: `/ops/${'n'.repeat(99)}/webhooks/1` })).statusCode, 404);
      const noName = await app.inject({ method: 'GET', url: '/ops//webhooks' });
      assert.equal(noName.statusCode, 400, noName.body);
    } finally {
      await app.close();
    }
  });

  describe('webhooks', () => {
    test('created with a secret shown once; listed without it', async () => {
      const res = await h.api(key, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/events#frag' });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['id', 'secret', 'url']);
      assert.equal(res.body.url, 'http://127.0.0.1:9/events');
      assert.ok(res.body.secret.length >= 32);
      const list = await h.api(key, 'GET', '/api/v1/webhooks');
      assert.deepEqual(list.body.webhooks, [{ id: res.body.id, url: 'http://127.0.0.1:9/events', failures: 0, lastError: null }]);
      assert.doesNotMatch(list.text, new RegExp(res.body.secret));
      assert.equal((await h.api(key, 'DELETE', `/api/v1/webhooks/${res.body.id}`)).status, 204);
    });

    test('another instance\u2019s webhook cannot be deleted (404, and it stays), nor seen', async () => {
      const mine = await h.api(key, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/mine' });
      assertProblem(await h.api(otherKey, 'DELETE', `/api/v1/webhooks/${mine.body.id}`), 404, 'not-found');
      assert.deepEqual((await h.api(otherKey, 'GET', '/api/v1/webhooks')).body.webhooks, []);
      assert.equal((await h.api(key, 'GET', '/api/v1/webhooks')).body.webhooks.length, 1);
      assert.equal((await h.api(key, 'DELETE', `/api/v1/webhooks/${mine.body.id}`)).status, 204);
      assertProblem(await h.api(key, 'DELETE', `/api/v1/webhooks/${mine.body.id}`), 404, 'not-found');
    });

    test('at most the configured number per instance: the next is 409 limit-reached', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) ids.push((await h.api(key, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:9/${i}` })).body.id);
      const fourth = await h.api(key, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/3' });
      assertProblem(fourth, 409, 'limit-reached');
      assert.match(fourth.body.detail, /at most 3 webhooks/);
      // The limit is the instance's own.
      assert.equal((await h.api(otherKey, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x' })).status, 201);
      for (const id of ids) await h.api(key, 'DELETE', `/api/v1/webhooks/${id}`);
    });

    const invalid: [string, unknown][] = [
      ['no url', {}],
      ['a url longer than 2048 characters', { url: `http://127.0.0.1/${'a'.repeat(2048)}` }],
      ['a url that is not http', { url: 'ftp://127.0.0.1/' }],
      ['a url with credentials', { url: 'http://user:pw@127.0.0.1/' }],
      ['a private address outside the allowed networks', { url: 'http://10.0.0.1/hook' }],
    ];
    for (const [what, body] of invalid) {
      test(`${what} is 400 invalid-request`, async () => assertProblem(await h.api(key, 'POST', '/api/v1/webhooks', body), 400, 'invalid-request'));
    }

    test('a webhook id that is not a number is 400', async () => {
      assertProblem(await h.api(key, 'DELETE', '/api/v1/webhooks/abc'), 400, 'invalid-request');
    });
  });
});
