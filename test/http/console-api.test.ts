import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../../src/core/clock.ts';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { programBody } from '../helpers/upgrade-fleet.ts';
import { assertProblem, expectStatus, injectFrom } from './operator-requests.ts';

const admin = '/api/admin/v1';
const hour = 3_600_000;
/** A whole hour, so the buckets start on round instants. */
const t0 = Date.UTC(2030, 0, 7, 12, 0, 0);

describe('console read routes (app.inject)', () => {
  let h: InjectApp;
  let now = t0;
  const clock: Clock = { now: () => now, sleep: async () => {} };
  let shopKey: string;

  before(async () => {
    h = await injectApp({}, { clock });
    shopKey = (await h.instance('shop')).apiKey;
    await h.instance('idle');
  });
  after(() => h.close());

  test('every console route needs the admin token or a session', async () => {
    const urls = ['/delivery/timeline', '/queue/domains', '/instances/shop/pending', '/infrastructures/overview', '/switches/open', '/notices'];
    for (const [i, url] of urls.entries()) {
      assertProblem(await h.call('GET', `${admin}${url}`), 401, 'auth-required');
      assertProblem(await injectFrom(h, `10.4.0.${i + 1}`, 'GET', `${admin}${url}`, { authorization: 'Bearer wrong' }), 401, 'auth-failed');
    }
  });

  test('the timeline counts outcome events per type in equal buckets ending now; bounds are checked', async () => {
    const shop = await h.composed.services.fleet.instanceByName('shop');
    now = t0 - 2 * hour;
    expectStatus(
      await h.api(shopKey, 'POST', '/api/v1/messages', {
        from: 'a@shop.example',
        to: ['x@example.com', 'y@example.org', 'z@example.com'],
        subject: 's',
        text: 't',
      }),
      202,
    );
    await h.composed.services.acceptor.flush();
    await h.composed.repositories.events.addEvents([
      { instanceId: shop.id, type: 'delivered', at: t0 - hour + 10, detail: {} },
      { instanceId: shop.id, type: 'bounced', at: t0 - 10, detail: {} },
      { instanceId: shop.id, type: 'upgrade.started', at: t0 - 10, detail: {} },
    ]);
    now = t0;
    const timeline = expectStatus(await h.admin('GET', `${admin}/delivery/timeline?hours=3&buckets=3`), 200);
    assert.equal(timeline.bucketMs, hour);
    assert.equal(timeline.since, new Date(t0 - 3 * hour).toISOString());
    assert.equal(timeline.until, new Date(t0).toISOString());
    assert.deepEqual(
      timeline.buckets.map((b: Record<string, number>) => [b.start, b.accepted, b.delivered, b.bounced, b.deferred, b.expired, b.suppressed]),
      [
        [new Date(t0 - 3 * hour).toISOString(), 0, 0, 0, 0, 0, 0],
        [new Date(t0 - 2 * hour).toISOString(), 1, 0, 0, 0, 0, 0],
        [new Date(t0 - hour).toISOString(), 0, 1, 1, 0, 0, 0],
      ],
    );
    const defaults = expectStatus(await h.admin('GET', `${admin}/delivery/timeline`), 200);
    assert.equal(defaults.buckets.length, 48);
    assert.equal(defaults.bucketMs, (24 * hour) / 48);
    for (const query of ['hours=0', 'hours=745', 'buckets=0', 'buckets=501', 'hours=soon'])
      assertProblem(await h.admin('GET', `${admin}/delivery/timeline?${query}`), 400, 'invalid-request');
  });

  test('the queue per destination domain, largest first', async () => {
    assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/queue/domains`), 200).domains, [
      { domain: 'example.com', scheduled: 2, inflight: 0 },
      { domain: 'example.org', scheduled: 1, inflight: 0 },
    ]);
    assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/queue/domains?limit=1`), 200).domains, [{ domain: 'example.com', scheduled: 2, inflight: 0 }]);
    assertProblem(await h.admin('GET', `${admin}/queue/domains?limit=0`), 400, 'invalid-request');
  });

  test('an instance\u2019s pending deliveries, and how many are held while it is suspended', async () => {
    const pending = expectStatus(await h.admin('GET', `${admin}/instances/shop/pending?limit=2`), 200);
    assert.equal(pending.instance, 'shop');
    assert.equal(pending.suspended, false);
    assert.equal(pending.deliveries.length, 2);
    assert.deepEqual(Object.keys(pending.deliveries[0]).sort(), [
      'attempts',
      'createdAt',
      'dueAt',
      'id',
      'lastReply',
      'mailFrom',
      'messageId',
      'recipient',
      'size',
      'state',
    ]);
    assert.equal(pending.deliveries[0].mailFrom, 'a@shop.example');
    assert.equal(pending.deliveries[0].createdAt, new Date(t0 - 2 * hour).toISOString());
    expectStatus(await h.admin('POST', `${admin}/instances/shop/suspend`, {}), 200);
    const held = expectStatus(await h.admin('GET', `${admin}/instances/shop/pending`), 200);
    assert.equal(held.suspended, true);
    assert.equal(held.scheduled, 3);
    assert.equal(held.deliveries.length, 3);
    expectStatus(await h.admin('POST', `${admin}/instances/shop/resume`, {}), 200);
    assertProblem(await h.admin('GET', `${admin}/instances/nobody/pending`), 404, 'not-found');
    assertProblem(await h.admin('GET', `${admin}/instances/shop/pending?limit=1001`), 400, 'invalid-request');
  });

  test('the infrastructures overview counts the last hour\u2019s outcomes per infrastructure', async () => {
    const shop = await h.composed.services.fleet.instanceByName('shop');
    await h.composed.repositories.events.addEvents([
      { instanceId: shop.id, type: 'delivered', at: t0 - 60_000, detail: { infrastructureId: shop.infrastructureId } },
      { instanceId: shop.id, type: 'deferred', at: t0 - 60_000, detail: { infrastructureId: shop.infrastructureId } },
      { instanceId: shop.id, type: 'delivered', at: t0 - 2 * hour, detail: { infrastructureId: shop.infrastructureId } },
    ]);
    const overview = expectStatus(await h.admin('GET', `${admin}/infrastructures/overview`), 200);
    assert.equal(overview.since, new Date(t0 - hour).toISOString());
    assert.equal(overview.capped, false);
    const infra = overview.infrastructures.find((i: { name: string }) => i.name === 'infra-shop');
    assert.deepEqual(infra, {
      name: 'infra-shop',
      deliveryMode: 'relay',
      relays: ['127.0.0.1:2525'],
      heloName: infra.heloName,
      verificationAddress: infra.verificationAddress,
      instances: 1,
      lastPrecheck: null,
      lastHour: { delivered: 1, deferred: 1, bounced: 0 },
    });
    assert.deepEqual(overview.infrastructures.find((i: { name: string }) => i.name === 'infra-idle').lastHour, { delivered: 0, deferred: 0, bounced: 0 });
  });

  test('open switches and the notice outbox of a published program', async () => {
    assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/switches/open`), 200), { switches: [] });
    assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/notices`), 200), { notices: [] });
    const post = async (url: string, body?: unknown) => expectStatus(await h.admin('POST', `${admin}${url}`, body), url.endsWith('publish') ? 200 : 201);
    await post('/infrastructures', { name: 'blue', relays: ['127.0.0.1:2601'] });
    await post('/infrastructures', { name: 'green', relays: ['127.0.0.1:2602'] });
    await post('/customers', { name: 'acme', contacts: [{ email: 'ops@acme.example' }] });
    await post('/instances', { name: 'acme-dev', customer: 'acme', productLine: 'managed-cloud', environment: 'development', infrastructure: 'blue' });
    await post('/programs', programBody('move', now));
    await post('/programs/move/publish');

    assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/switches/open`), 200).switches, [
      { instance: 'acme-dev', program: 'move', wave: 1, state: 'scheduled' },
    ]);
    const notices = expectStatus(await h.admin('GET', `${admin}/notices`), 200).notices;
    assert.ok(notices.length >= 2);
    assert.ok(notices.every((n: Record<string, unknown>) => n.customer === 'acme' && n.program === 'move' && n.to === 'ops@acme.example'));
    const dues = notices.map((n: { dueAt: string }) => Date.parse(n.dueAt));
    assert.deepEqual(
      dues,
      [...dues].sort((a, b) => b - a),
      'newest due first',
    );
    assert.equal(expectStatus(await h.admin('GET', `${admin}/notices?limit=1`), 200).notices.length, 1);
    assertProblem(await h.admin('GET', `${admin}/notices?limit=0`), 400, 'invalid-request');
  });
});
