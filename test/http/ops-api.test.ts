import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminToken } from '../helpers/harness.ts';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { assertProblem, expectStatus, injectFrom } from './operator-requests.ts';

const metricsToken = 'scrape-5e8a17c0f4d2b963aa10';

describe('ops routes and the API description (app.inject)', () => {
  let h: InjectApp;

  before(async () => {
    h = await injectApp({ MAILSHIFT_METRICS_TOKEN: metricsToken });
  });
  after(() => h.close());

  test('/healthz is open and says whether this node runs the delivery loop', async () => {
    assert.deepEqual(expectStatus(await h.call('GET', '/healthz'), 200), { status: 'ok', engine: 'stopped' });
  });

  test('/metrics needs the admin or the scrape token', async () => {
    assertProblem(await h.call('GET', '/metrics'), 401, 'auth-required');
    assertProblem(await injectFrom(h, '10.6.0.1', 'GET', '/metrics', { authorization: 'Bearer wrong' }), 401, 'auth-failed');
    for (const token of [adminToken, metricsToken]) {
      const res = await h.call('GET', '/metrics', undefined, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.match(res.text, /^# HELP /m);
      assert.match(res.text, /mailshift_/);
    }
  });

  test('/metrics names the node on every series, so a cluster’s scrapes do not collide', async () => {
    const res = await h.call('GET', '/metrics', undefined, { authorization: `Bearer ${metricsToken}` });
    const node = h.composed.registry.id;
    const series = res.text.split('\n').filter((l) => l.startsWith('mailshift_'));
    assert.ok(series.length > 0);
    for (const line of series) assert.ok(line.includes(`node="${node}"`), line);
  });

  test('/api/openapi.json describes the operators\u2019 routes with their parameters and response schemas', async () => {
    const doc = expectStatus(await h.call('GET', '/api/openapi.json'), 200);
    assert.equal(doc.openapi, '3.1.0');
    const routes: [string, string, string][] = [
      ['get', '/api/admin/v1/customers', '200'],
      ['post', '/api/admin/v1/customers', '201'],
      ['get', '/api/admin/v1/infrastructures', '200'],
      ['post', '/api/admin/v1/infrastructures', '201'],
      ['get', '/api/admin/v1/instances', '200'],
      ['post', '/api/admin/v1/instances', '201'],
      ['get', '/api/admin/v1/instances/{name}', '200'],
      ['post', '/api/admin/v1/instances/{name}/suspend', '200'],
      ['post', '/api/admin/v1/instances/{name}/resume', '200'],
      ['get', '/api/admin/v1/queue', '200'],
      ['get', '/api/admin/v1/messages/{id}', '200'],
      ['get', '/api/admin/v1/capture/messages', '200'],
      ['delete', '/api/admin/v1/capture/messages', '204'],
      ['get', '/api/admin/v1/programs', '200'],
      ['post', '/api/admin/v1/programs', '201'],
      ['get', '/api/admin/v1/programs/{name}/plan', '200'],
      ['post', '/api/admin/v1/programs/{name}/publish', '200'],
      ['post', '/api/admin/v1/programs/{name}/resume', '200'],
      ['get', '/api/admin/v1/programs/{name}/status', '200'],
      ['get', '/api/admin/v1/programs/{name}/notices', '200'],
      ['get', '/api/admin/v1/customers/{name}/notices', '200'],
      ['post', '/api/admin/v1/customers/{name}/status-token', '201'],
      ['get', '/api/admin/v1/instances/{name}/upgrade', '200'],
      ['get', '/api/admin/v1/delivery/timeline', '200'],
      ['get', '/api/admin/v1/queue/domains', '200'],
      ['get', '/api/admin/v1/instances/{name}/pending', '200'],
      ['get', '/api/admin/v1/infrastructures/overview', '200'],
      ['get', '/api/admin/v1/switches/open', '200'],
      ['get', '/api/admin/v1/notices', '200'],
      ['post', '/api/session', '200'],
      ['get', '/api/session', '200'],
      ['delete', '/api/session', '204'],
      ['get', '/healthz', '200'],
      ['get', '/metrics', '200'],
    ];
    for (const [method, path, status] of routes) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is described`);
      assert.ok(op.summary, `${method} ${path} has a summary`);
      assert.ok(op.tags?.length, `${method} ${path} has a tag`);
      assert.ok(op.responses[status], `${method} ${path} describes its ${status}`);
      if (status !== '204') assert.ok(op.responses[status].content?.['application/json']?.schema, `${method} ${path} has a ${status} schema`);
      assert.ok(op.responses['4XX'] ?? op.responses['4xx'], `${method} ${path} describes its problems`);
      if (path.startsWith('/api/admin/')) assert.deepEqual(op.security, [{ adminToken: [] }]);
    }
    const timeline = doc.paths['/api/admin/v1/delivery/timeline'].get;
    assert.deepEqual(timeline.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort(), ['query:buckets', 'query:hours']);
    const instances = doc.paths['/api/admin/v1/instances'].post.requestBody.content['application/json'].schema;
    assert.deepEqual([...instances.required].sort(), ['customer', 'environment', 'infrastructure', 'name', 'productLine']);
    const queue = doc.paths['/api/admin/v1/queue'].get.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(queue.properties.total.properties), ['scheduled', 'inflight', 'delivered', 'bounced', 'expired', 'suppressed']);
  });

  test('/api/docs serves a browsable page', async () => {
    let res = await h.call('GET', '/api/docs');
    for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 3; hops++)
      res = await h.call('GET', new URL(String(res.headers.location), 'http://x/api/docs/').pathname);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.text, /swagger/i);
  });
});

describe('/healthz with a store that does not answer', () => {
  test('is 503 unavailable, without the driver\u2019s message', async () => {
    const h = await injectApp();
    try {
      await h.composed.closeStore();
      const res = await h.call('GET', '/healthz');
      assertProblem(res, 503, 'unavailable');
      assert.equal(res.body.detail, 'the store does not answer');
    } finally {
      await h.close();
    }
  });
});
