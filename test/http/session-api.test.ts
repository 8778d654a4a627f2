import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminToken } from '../helpers/harness.ts';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { assertLocked, assertProblem, expectStatus, injectFrom, untilLocked } from './operator-requests.ts';

const admin = '/api/admin/v1';
const consoleHeader = { 'x-mailshift-console': '1' };

describe('operator sessions (app.inject)', () => {
  let h: InjectApp;

  before(async () => {
    h = await injectApp();
    await h.instance('shop');
  });
  after(() => h.close());

  /** Signs in from `source`; the `name=value` pair to send back as the cookie. */
  async function signIn(source = '10.5.0.1'): Promise<string> {
    const res = await injectFrom(h, source, 'POST', '/api/session', {}, { token: adminToken });
    const body = expectStatus(res, 200);
    assert.equal(body.operator, true);
    assert.ok(Date.parse(body.expiresAt) > Date.now() + 11 * 3_600_000, 'lasts twelve hours');
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, /^mailshift_session=\d{13,}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    assert.equal(res.headers['cache-control'], 'no-store');
    return setCookie.split(';')[0];
  }

  test('signing in needs the admin token: none is auth-required, a wrong one auth-failed, no cookie either way', async () => {
    for (const body of [undefined, {}, { token: '' }]) {
      const res = await injectFrom(h, '10.5.1.1', 'POST', '/api/session', {}, body);
      assertProblem(res, 401, 'auth-required');
      assert.equal(res.headers['set-cookie'], undefined);
    }
    const wrong = await injectFrom(h, '10.5.1.2', 'POST', '/api/session', {}, { token: 'not-it' });
    assertProblem(wrong, 401, 'auth-failed');
    assert.equal(wrong.headers['set-cookie'], undefined);
    assertProblem(await h.call('GET', '/api/session'), 401, 'auth-required');
  });

  test('the cookie opens reads; a change with it also needs the console header', async () => {
    const cookie = await signIn();
    const session = expectStatus(await h.call('GET', '/api/session', undefined, { cookie }), 200);
    assert.equal(session.operator, true);
    expectStatus(await h.call('GET', `${admin}/instances`, undefined, { cookie }), 200);
    expectStatus(await h.call('GET', `${admin}/delivery/timeline`, undefined, { cookie }), 200);
    // A cross-site form can send the cookie but not the header.
    assertProblem(await h.call('POST', `${admin}/instances/shop/suspend`, {}, { cookie }), 401, 'auth-required');
    assert.equal((await h.admin('GET', `${admin}/instances/shop`)).body.suspended, false, 'nothing was changed');
    expectStatus(await h.call('POST', `${admin}/instances/shop/suspend`, {}, { cookie, ...consoleHeader }), 200);
    expectStatus(await h.call('POST', `${admin}/instances/shop/resume`, undefined, { cookie, ...consoleHeader }), 200);
  });

  test('a forged or altered cookie is refused', async () => {
    const cookie = await signIn();
    const altered = `${cookie.slice(0, -2)}${cookie.endsWith('xx') ? 'yy' : 'xx'}`;
    for (const forged of [altered, 'mailshift_session=1', `mailshift_session=${Date.now() + 3_600_000}.AAAAAAAAAAAAAAAA.${'A'.repeat(43)}`]) {
      assertProblem(await h.call('GET', '/api/session', undefined, { cookie: forged }), 401, 'auth-required');
      assertProblem(await h.call('GET', `${admin}/instances`, undefined, { cookie: forged }), 401, 'auth-required');
    }
  });

  test('signing out ends the session: the same cookie is refused afterwards', async () => {
    const cookie = await signIn();
    const out = await h.call('DELETE', '/api/session', undefined, { cookie });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /^mailshift_session=; .*Max-Age=0/);
    assertProblem(await h.call('GET', '/api/session', undefined, { cookie }), 401, 'auth-required');
    assertProblem(await h.call('GET', `${admin}/instances`, undefined, { cookie }), 401, 'auth-required');
    // Signing out without a session is harmless.
    assert.equal((await h.call('DELETE', '/api/session')).status, 204);
  });

  test('wrong sign-ins from one source end in 429; the right token cannot sign in from there while locked', async () => {
    const from = (token: string) => injectFrom(h, '10.5.9.9', 'POST', '/api/session', {}, { token });
    assertLocked(await untilLocked((i) => from(`guess-${i}`)));
    const right = await from(adminToken);
    assertLocked(right);
    assert.equal(right.headers['set-cookie'], undefined, 'no session is given');
    await signIn('10.5.9.10');
  });
});
