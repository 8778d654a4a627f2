import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeAlive, nodeRoles, parseRoles } from './nodes.ts';

test('roles: every role by default; a list picks some; unknown names are refused', () => {
  const cases: [string | undefined, ReturnType<typeof parseRoles>][] = [
    [undefined, { ok: true, roles: [...nodeRoles] }],
    ['  ', { ok: true, roles: [...nodeRoles] }],
    ['delivery', { ok: true, roles: ['delivery'] }],
    ['http, smtp', { ok: true, roles: ['smtp', 'http'] }],
    ['smtp,smtp', { ok: true, roles: ['smtp'] }],
    ['smtp,mta', { ok: false, error: 'unknown role mta; roles are smtp, http, delivery, orchestrator' }],
    [',', { ok: false, error: 'no role named; roles are smtp, http, delivery, orchestrator' }],
  ];
  for (const [input, expected] of cases) assert.deepEqual(parseRoles(input), expected, String(input));
});

test('a node is alive while seen within its time to live and not stopped', () => {
  assert.equal(nodeAlive({ lastSeenAt: 1_000, stoppedAt: null }, 11_000, 10_000), true);
  assert.equal(nodeAlive({ lastSeenAt: 1_000, stoppedAt: null }, 11_001, 10_000), false);
  assert.equal(nodeAlive({ lastSeenAt: 1_000, stoppedAt: 1_500 }, 2_000, 10_000), false);
});
