import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { programBody } from '../helpers/upgrade-fleet.ts';
import { assertProblem } from './assert-problem.ts';
import { statusPlugin } from '../../src/http/status-plugin.ts';
import { statusPageView } from '../../src/http/presenters/status-view.ts';
import { installProblemHandlers } from '../../src/http/problem.ts';
import { Problem } from '../../src/http/schemas/common.ts';
import type { HttpApp } from '../../src/http/typed-app.ts';
import type { CustomerStatus, InstanceUpgradeStatus, UpgradeStatusService } from '../../src/app/upgrade-status.ts';

/** Every field the customer's page may carry, and nothing else. */
const allowed = [
  'instance',
  'environment',
  'state',
  'window',
  'estimateMs',
  'actualStart',
  'actualEnd',
  'held',
  'switchedAt',
  'pausedMs',
  'released',
  'supportContact',
];
const operatorOnly = ['program', 'phase', 'wave', 'retry', 'error', 'attempts', 'haltedReason'];

describe('customer status API (app.inject)', () => {
  let h: InjectApp;
  let token: string;
  let otherToken: string;
  let prodKey = '';

  before(async () => {
    h = await injectApp();
    const ok = async (method: string, url: string, body?: unknown) => {
      const res = await h.admin(method, url, body);
      assert.ok(res.status < 300, `${method} ${url}: ${res.text}`);
      return res;
    };
    await ok('POST', '/api/admin/v1/infrastructures', { name: 'blue', relays: ['127.0.0.1:2525'] });
    await ok('POST', '/api/admin/v1/infrastructures', { name: 'green', relays: ['127.0.0.1:2526'] });
    await ok('POST', '/api/admin/v1/customers', { name: 'acme', contacts: [{ email: 'ops@acme.example', locale: 'es', timezone: 'Europe/Madrid' }] });
    await ok('POST', '/api/admin/v1/customers', { name: 'globex', contacts: [] });
    for (const [name, customer, environment] of [
      ['acme-prod', 'acme', 'production'],
      ['acme-dev', 'acme', 'development'],
      ['globex-prod', 'globex', 'production'],
    ]) {
      const res = await ok('POST', '/api/admin/v1/instances', { name, customer, productLine: 'managed-cloud', environment, infrastructure: 'blue' });
      if (name === 'acme-prod') prodKey = res.body.credentials.apiKey;
    }
    const now = Date.now();
    await ok('POST', '/api/admin/v1/programs', programBody('secret-program-name', now));
    await ok('POST', '/api/admin/v1/programs/secret-program-name/publish');
    token = (await ok('POST', '/api/admin/v1/customers/acme/status-token')).body.token;
    otherToken = (await ok('POST', '/api/admin/v1/customers/globex/status-token')).body.token;
  });
  after(() => h.close());

  test('the page shows the customer, its locale and zone, and only its own instances', async () => {
    const res = await h.call('GET', `/api/status/v1/${token}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['customer', 'instances', 'locale', 'timezone']);
    assert.equal(res.body.customer, 'acme');
    assert.equal(res.body.locale, 'es');
    assert.equal(res.body.timezone, 'Europe/Madrid');
    assert.deepEqual(res.body.instances.map((i: { instance: string }) => i.instance).sort(), ['acme-dev', 'acme-prod']);
    const other = await h.call('GET', `/api/status/v1/${otherToken}`);
    assert.deepEqual(
      other.body.instances.map((i: { instance: string }) => i.instance),
      ['globex-prod'],
    );
    // Without a contact: the defaults.
    assert.equal(other.body.locale, 'en');
    assert.equal(other.body.timezone, 'UTC');
  });

  test('a scheduled instance shows its window and estimate, and no operator field', async () => {
    const res = await h.call('GET', `/api/status/v1/${token}`);
    for (const i of res.body.instances) {
      assert.equal(i.state, 'scheduled');
      assert.match(i.window.start, /^\d{4}-/);
      assert.equal(typeof i.estimateMs, 'number');
      assert.equal(i.supportContact, 'help@mailshift.example');
      for (const key of Object.keys(i)) assert.ok(allowed.includes(key), `${key} is not on the customer allow-list`);
      for (const key of operatorOnly) assert.equal(key in i, false, `${key} reaches the customer`);
    }
    assert.doesNotMatch(res.text, /secret-program-name/);
    assert.doesNotMatch(res.text, /ops@acme\.example/);
    // The instance's own key does see the program's bookkeeping: the allow-list is the customer page's.
    const own = await h.api(prodKey, 'GET', '/api/v1/upgrade/status');
    assert.equal(own.status, 200, own.text);
    assert.equal(own.body.program, 'secret-program-name');
    assert.equal(own.body.phase, 'production');
    assert.equal(typeof own.body.wave, 'number');
    assert.equal(own.body.retry, false);
    assert.equal(own.body.state, 'scheduled');
  });

  test('an unknown token is 404 problem+json; the page needs no other credential', async () => {
    assertProblem(await h.call('GET', '/api/status/v1/not-a-token'), 404, 'not-found');
    assertProblem(await h.call('GET', `/api/status/v1/${'x'.repeat(99)}`), 404, 'not-found');
    const replaced = (await h.admin('POST', '/api/admin/v1/customers/globex/status-token')).body.token;
    assertProblem(await h.call('GET', `/api/status/v1/${otherToken}`), 404, 'not-found');
    assert.equal((await h.call('GET', `/api/status/v1/${replaced}`)).status, 200);
  });

  test('the route is in /api/openapi.json with exactly the customer fields', async () => {
    const doc = (await h.call('GET', '/api/openapi.json')).body;
    const op = doc.paths['/api/status/v1/{token}'].get;
    assert.equal(op.security, undefined);
    const schema = op.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties).sort(), ['customer', 'instances', 'locale', 'timezone']);
    assert.deepEqual(Object.keys(schema.properties.instances.items.properties).sort(), [...allowed].sort());
  });
});

/** What the upgrade programs might report one day: fields the customer must never see. */
function reported(extra: Record<string, unknown>): InstanceUpgradeStatus {
  return {
    instance: 'acme-prod',
    environment: 'production',
    state: 'sending-paused',
    program: 'secret-program-name',
    phase: 'production',
    wave: 3,
    retry: true,
    window: { start: '2030-01-01T09:00:00.000Z', end: '2030-01-01T11:00:00.000Z' },
    estimateMs: 60_000,
    actualStart: '2030-01-01T09:00:05.000Z',
    actualEnd: null,
    held: 12,
    switchedAt: null,
    pausedMs: null,
    released: null,
    supportContact: null,
    ...extra,
  } as InstanceUpgradeStatus;
}

describe('customer status presenter: an allow-list', () => {
  const page: CustomerStatus = {
    customer: { id: 1, name: 'acme', contacts: [{ email: 'ops@acme.example', locale: 'en', timezone: 'UTC' }], createdAt: 0 },
    instances: [
      reported({ error: 'rebind failed on relay-7', attempts: 2, haltedReason: 'threshold' }),
      { instance: 'acme-dev', environment: 'development', state: 'not-scheduled', supportContact: null, program: 'x' },
    ],
  };

  test('a field the operators\u2019 view gains is not on the page unless added to the presenter', () => {
    const view = statusPageView(page);
    assert.deepEqual(Object.keys(view.instances[0]).sort(), [...allowed].sort());
    assert.equal(view.instances[0].held, 12);
    assert.deepEqual(Object.keys(view.instances[1]).sort(), ['environment', 'instance', 'state', 'supportContact']);
    assert.doesNotMatch(JSON.stringify(view), /secret-program-name|relay-7|ops@acme/);
  });

  test('through the route: nothing the service reports beyond the allow-list is sent', async () => {
    const app = Fastify() as unknown as HttpApp;
    installProblemHandlers(app);
    app.addSchema(Problem);
    const upgradeStatus = { ofToken: async () => page, ofInstance: async () => page.instances[0] } as unknown as UpgradeStatusService;
    await app.register(async (scope) => statusPlugin(scope, { upgradeStatus }));
    const res = await app.inject({ method: 'GET', url: '/api/status/v1/anything' });
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /secret-program-name|relay-7|threshold|"wave"|"retry"|"phase"|ops@acme/);
    await app.close();
  });
});
