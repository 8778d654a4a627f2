import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { programBody } from '../helpers/upgrade-fleet.ts';
import { assertProblem, expectStatus } from './operator-requests.ts';

const admin = '/api/admin/v1';

describe('program routes (app.inject)', () => {
  let h: InjectApp;
  const now = Date.now();

  before(async () => {
    h = await injectApp({ MAILSHIFT_SUPPORT_CONTACT: 'help@mailshift.example' });
    const post = async (url: string, body: unknown) => expectStatus(await h.admin('POST', `${admin}${url}`, body), 201);
    await post('/infrastructures', { name: 'blue', relays: ['127.0.0.1:2525'] });
    await post('/infrastructures', { name: 'green', relays: ['127.0.0.1:2526'] });
    await post('/customers', { name: 'acme', contacts: [{ email: 'ops@acme.example', locale: 'es', timezone: 'Europe/Madrid' }] });
    for (const [name, environment] of [
      ['acme-dev', 'development'],
      ['acme-prod', 'production'],
    ]) {
      await post('/instances', { name, customer: 'acme', productLine: 'managed-cloud', environment, infrastructure: 'blue' });
    }
  });
  after(() => h.close());

  test('create a draft, list it, plan it', async () => {
    const created = expectStatus(
      await h.admin('POST', `${admin}/programs`, programBody('move', now, { waveSize: 1, products: 'managed-cloud', reminders: ['48h'] })),
      201,
    );
    assert.equal(created.name, 'move');
    assert.equal(created.state, 'draft');
    assert.equal(created.spec.sourceInfrastructure, 'blue');
    assert.equal(created.spec.targetInfrastructure, 'green');
    assert.deepEqual(created.spec.productLines, ['managed-cloud']);
    assert.deepEqual(created.spec.remindersMs, [48 * 3_600_000]);
    assert.equal(created.spec.waveSize, 1);

    const list = expectStatus(await h.admin('GET', `${admin}/programs`), 200);
    assert.deepEqual(
      list.programs.map((p: Record<string, unknown>) => [p.name, p.state, p.from, p.to]),
      [['move', 'draft', 'blue', 'green']],
    );

    const plan = expectStatus(await h.admin('GET', `${admin}/programs/move/plan`), 200);
    assert.equal(plan.program, 'move');
    assert.equal(plan.state, 'draft');
    assert.deepEqual(
      plan.waves.filter((w: { retry: boolean }) => !w.retry).map((w: { instances: string[] }) => w.instances),
      [['acme-dev'], ['acme-prod']],
    );
    assert.ok(plan.totalMs > 0 && plan.perInstanceMs > 0);
    assert.ok(Date.parse(plan.start) <= Date.parse(plan.end));
  });

  test('creation refusals: the schema for types, the spec check for values and unknown fields, 404 and 409 for names', async () => {
    const cases: [Record<string, unknown>, number, string, RegExp?][] = [
      [{ ...programBody('p1', now), nonprodStart: undefined }, 400, 'invalid-request'],
      [{ ...programBody('p2', now), waveSize: 'lots' }, 400, 'invalid-request'],
      [{ ...programBody('p3', now), waveSize: 0 }, 400, 'invalid-request', /waveSize must be a whole number/],
      [{ ...programBody('p4', now), wavesize: 3 }, 400, 'invalid-request', /unknown field wavesize/],
      [{ ...programBody('p5', now), prodStart: 'next tuesday' }, 400, 'invalid-request', /prodStart must be an ISO 8601 instant/],
      [{ ...programBody('p6', now), weekdays: [9] }, 400, 'invalid-request', /weekdays must be ISO weekdays/],
      [{ ...programBody('p7', now), to: 'blue' }, 400, 'invalid-request', /different infrastructures/],
      [{ ...programBody('p8', now), to: 'purple' }, 404, 'not-found', /no infrastructure named "purple"/],
      [programBody('move', now), 409, 'conflict'],
    ];
    for (const [body, status, code, detail] of cases) {
      const res = await h.admin('POST', `${admin}/programs`, body);
      assertProblem(res, status, code);
      if (detail) assert.match(res.body.detail, detail);
    }
    // Weekdays as names or as numbers, products as a list: the forms the CLI and the console send.
    expectStatus(
      await h.admin('POST', `${admin}/programs`, programBody('weekly', now, { weekdays: 'mon-fri', products: ['managed-cloud', 'classic-managed'] })),
      201,
    );
    const listed = expectStatus(await h.admin('POST', `${admin}/programs`, programBody('listed', now, { products: 'managed-cloud,classic-managed' })), 201);
    assert.deepEqual(listed.spec.productLines, ['classic-managed', 'managed-cloud'], 'a comma-separated list, as the CLI sends it');
    const numbered = expectStatus(
      await h.admin('POST', `${admin}/programs`, programBody('numbered', now, { weekdays: [1, 3], products: ['managed-cloud'] })),
      201,
    );
    assert.deepEqual(numbered.spec.allowed.weekdays, [1, 3]);
    assert.deepEqual(numbered.spec.productLines, ['managed-cloud']);
    assertProblem(await h.admin('GET', `${admin}/programs/nothing/plan`), 404, 'not-found');
    assertProblem(await h.admin('GET', `${admin}/programs/nothing/status`), 404, 'not-found');
  });

  test('a status link before publishing: a new one replaces the old; unknown customers are 404', async () => {
    const first = expectStatus(await h.admin('POST', `${admin}/customers/acme/status-token`), 201);
    assert.equal(first.customer, 'acme');
    assert.equal(first.api, `/api/status/v1/${first.token}`);
    assert.equal(first.page, `/status/${first.token}`);
    expectStatus(await h.call('GET', first.api), 200);
    const second = expectStatus(await h.admin('POST', `${admin}/customers/acme/status-token`, {}), 201);
    assert.notEqual(second.token, first.token);
    assertProblem(await h.call('GET', first.api), 404, 'not-found');
    const page = expectStatus(await h.call('GET', second.api), 200);
    assert.equal(page.customer, 'acme');
    assertProblem(await h.admin('POST', `${admin}/customers/nobody/status-token`), 404, 'not-found');
  });

  test('publish locks the schedule and queues notices; status, notices, the instance\u2019s upgrade', async () => {
    const published = expectStatus(await h.admin('POST', `${admin}/programs/move/publish`), 200);
    assert.equal(published.state, 'published');
    assert.ok(published.notices >= 2, `notices ${published.notices}`);
    assert.ok(published.waves.length >= 2);
    assertProblem(await h.admin('POST', `${admin}/programs/move/publish`), 409, 'invalid-state');
    assertProblem(await h.admin('POST', `${admin}/programs/move/resume`), 409, 'invalid-state');

    const status = expectStatus(await h.admin('GET', `${admin}/programs/move/status`), 200);
    assert.equal(status.name, 'move');
    assert.equal(status.state, 'published');
    assert.equal(status.supportContact, 'help@mailshift.example');
    assert.deepEqual(status.instances.map((i: { name: string; state: string }) => `${i.name}:${i.state}`).sort(), [
      'acme-dev:scheduled',
      'acme-prod:scheduled',
    ]);
    assert.ok(status.waves.every((w: { state: string; actualMs: unknown }) => w.state === 'scheduled' && w.actualMs === null));

    const notices = expectStatus(await h.admin('GET', `${admin}/programs/move/notices`), 200).notices;
    assert.equal(notices.length, published.notices);
    assert.ok(
      notices.every(
        (n: Record<string, unknown>) => n.to === 'ops@acme.example' && n.locale === 'es' && n.timezone === 'Europe/Madrid' && n.state === 'pending',
      ),
    );
    assert.ok(notices.some((n: { kind: string }) => n.kind === 'scheduled'));
    assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/customers/acme/notices`), 200).notices, notices);
    assert.deepEqual(expectStatus(await h.admin('GET', `${admin}/customers/nobody/notices`), 200), { notices: [] });
    assertProblem(await h.admin('GET', `${admin}/programs/nothing/notices`), 404, 'not-found');

    const upgrade = expectStatus(await h.admin('GET', `${admin}/instances/acme-dev/upgrade`), 200);
    assert.equal(upgrade.instance, 'acme-dev');
    assert.equal(upgrade.state, 'scheduled');
    assert.equal(upgrade.program, 'move', 'operators see the program');
    assert.ok(upgrade.window.start && upgrade.window.end);
    assertProblem(await h.admin('GET', `${admin}/instances/nobody/upgrade`), 404, 'not-found');
  });

  test('reschedule and opt-out requests are recorded and refused with the reason', async () => {
    const moved = await h.admin('POST', `${admin}/instances/acme-prod/reschedule-request`, { reason: 'Black Friday' });
    assertProblem(moved, 409, 'reschedule-refused');
    assert.match(moved.body.detail, /Your slot cannot be moved/);
    assert.match(moved.body.detail, /help@mailshift\.example/);
    const optOut = await h.admin('POST', `${admin}/instances/acme-dev/opt-out`);
    assertProblem(optOut, 409, 'opt-out-refused');
    assertProblem(await h.admin('POST', `${admin}/instances/nobody/opt-out`, {}), 404, 'not-found');
    const status = expectStatus(await h.admin('GET', `${admin}/programs/move/status`), 200);
    assert.deepEqual(
      status.requests.map((r: { instance: string; kind: string; reason: string }) => `${r.instance}:${r.kind}:${r.reason}`),
      ['acme-prod:reschedule:Black Friday', 'acme-dev:opt-out:'],
    );
  });
});
