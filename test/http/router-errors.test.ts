import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { injectApp, type InjectApp } from '../helpers/inject.ts';

let t: InjectApp;
let apiKey: string;
before(async () => {
  t = await injectApp();
  apiKey = (await t.instance('router')).apiKey;
});
after(() => t.close());

test('a suppressed address far longer than 100 characters can be removed by its URL', async () => {
  const address = `${'a'.repeat(64)}@${'sub'.repeat(20)}.${'b'.repeat(60)}.example`;
  assert.ok(encodeURIComponent(address).length > 150);
  const added = await t.api(apiKey, 'POST', '/api/v1/suppressions', { address });
  assert.equal(added.status, 201, added.text);
  const removed = await t.api(apiKey, 'DELETE', `/api/v1/suppressions/${encodeURIComponent(address)}`);
  assert.equal(removed.status, 204, removed.text);
  assert.deepEqual((await t.api(apiKey, 'GET', '/api/v1/suppressions')).body.suppressions, []);
});

test('a URL the router cannot decode or take is answered with problem+json', async () => {
  for (const url of ['/api/v1/messages/%zz', `/api/v1/messages/${'x'.repeat(2000)}`]) {
    const res = await t.api(apiKey, 'GET', url);
    assert.equal(res.status, 400, `${url.slice(0, 40)}: ${res.text}`);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.body.code, 'invalid-request');
  }
});
