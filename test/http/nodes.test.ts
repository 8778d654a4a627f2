import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hostname } from 'node:os';
import { injectApp, type InjectApp } from '../helpers/inject.ts';
import { assertProblem, expectStatus } from './operator-requests.ts';

const url = '/api/admin/v1/nodes';

describe('GET /api/admin/v1/nodes (app.inject, SQLite)', () => {
  let h: InjectApp;

  before(async () => {
    h = await injectApp();
  });
  after(() => h.close());

  test('before this node registers, the list is empty and nothing is said to lead', async () => {
    const body = expectStatus(await h.admin('GET', url), 200);
    assert.deepEqual(body.nodes, []);
    assert.equal(body.epoch, null);
    assert.equal(typeof body.self, 'string');
  });

  test('the one node of a SQLite spool is listed, alive and leader, with ISO times and no claims', async () => {
    const startedAt = Date.now();
    await h.composed.registry.start();
    try {
      const body = expectStatus(await h.admin('GET', url), 200);
      assert.equal(body.self, h.composed.registry.id);
      assert.equal(body.epoch, null, 'a single process leads without a lease');
      assert.equal(body.nodes.length, 1);
      const [node] = body.nodes;
      assert.deepEqual(Object.keys(node).sort(), ['alive', 'claims', 'host', 'id', 'lastSeenAt', 'leader', 'pid', 'roles', 'startedAt', 'version']);
      assert.equal(node.id, body.self);
      assert.equal(node.host, hostname());
      assert.equal(node.pid, process.pid);
      assert.equal(typeof node.version, 'string');
      assert.deepEqual(node.roles, ['smtp', 'http', 'delivery', 'orchestrator']);
      assert.equal(node.leader, true);
      assert.equal(node.alive, true);
      assert.equal(node.claims, 0);
      for (const at of [node.startedAt, node.lastSeenAt]) {
        assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(Date.parse(at) >= startedAt - 60_000 && Date.parse(at) <= Date.now(), `${at} is around now`);
      }
    } finally {
      await h.composed.registry.stop();
    }
  });

  test('a node stopped cleanly is still listed, dead and not leader', async () => {
    const [node] = expectStatus(await h.admin('GET', url), 200).nodes;
    assert.equal(node.id, h.composed.registry.id);
    assert.equal(node.alive, false);
    assert.equal(node.leader, false);
  });

  test('no credentials: 401 problem+json; a wrong token: 401 auth-failed', async () => {
    assertProblem(await h.call('GET', url), 401, 'auth-required');
    assertProblem(await h.call('GET', url, undefined, { authorization: 'Bearer not-the-admin-token' }), 401, 'auth-failed');
  });

  test('the route is in the OpenAPI document with its schema', async () => {
    const doc = (await h.call('GET', '/api/openapi.json')).body;
    const op = doc.paths['/api/admin/v1/nodes']?.get;
    assert.ok(op, 'GET /api/admin/v1/nodes is documented');
    assert.deepEqual(op.security, [{ adminToken: [] }]);
    const schema = op.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties).sort(), ['epoch', 'nodes', 'self']);
    assert.deepEqual(Object.keys(schema.properties.nodes.items.properties).sort(), [
      'alive',
      'claims',
      'host',
      'id',
      'lastSeenAt',
      'leader',
      'pid',
      'roles',
      'startedAt',
      'version',
    ]);
  });
});
