import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { injectApp, type InjectApp } from '../helpers/inject.ts';

let t: InjectApp;
before(async () => {
  t = await injectApp();
});
after(() => t.close());

test('every operation in the OpenAPI document declares what it answers besides errors, and every $ref resolves', async () => {
  const doc = (await t.call('GET', '/api/openapi.json')).body;
  const operations = Object.entries(doc.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, responses: Object.keys(op.responses ?? {}) })),
  );
  assert.ok(operations.length >= 40, `only ${operations.length} operations`);
  const bare = operations.filter((o) => !o.responses.some((code) => /^[1-5]\d\d$/.test(code))).map((o) => o.route);
  assert.deepEqual(bare, []);
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length > 0);
  for (const name of new Set(refs)) assert.ok(doc.components.schemas[name], `${name} is referenced but not defined`);
});

test('the browsable page keeps its own requests on the scheme it was served with', async () => {
  const page = await t.call('GET', '/api/docs');
  assert.equal(page.status, 200);
  const csp = String(page.headers['content-security-policy'] ?? '');
  assert.match(csp, /script-src/);
  assert.doesNotMatch(csp, /upgrade-insecure-requests/);
});

test('a capture listing asked for more than it holds answers what it holds', async () => {
  const listed = await t.admin('GET', '/api/admin/v1/capture/messages?limit=5000');
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.body.messages, []);
});
