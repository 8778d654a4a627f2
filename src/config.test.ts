import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.ts';

test('defaults give a runnable embedded configuration', () => {
  const c = loadConfig({ MAILSHIFT_DATA_DIR: '/tmp/x' });
  assert.equal(c.smtpPort, 2525);
  assert.equal(c.httpPort, 8025);
  assert.equal(c.databaseUrl, '/tmp/x/mailshift.db');
  assert.equal(c.retry.initialDelayMs, 300_000);
  assert.equal(c.retention.messagesMs, 7 * 86_400_000);
  assert.ok(Object.isFrozen(c));
});

test('bad values are refused with the variable named', () => {
  assert.throws(
    () => loadConfig({ MAILSHIFT_SMTP_PORT: '70000' }),
    (e: Error) => e instanceof ConfigError && /MAILSHIFT_SMTP_PORT/.test(e.message),
  );
  assert.throws(() => loadConfig({ MAILSHIFT_RETRY: '{"initialDelayMs":"soon"}' }), /MAILSHIFT_RETRY/);
  assert.throws(() => loadConfig({ MAILSHIFT_RETAIN_EVENTS: 'forever' }), /MAILSHIFT_RETAIN_EVENTS/);
  assert.throws(() => loadConfig({ MAILSHIFT_BOUNCE_RULES: '/nonexistent/rules.json' }), /cannot read/);
  assert.throws(() => loadConfig({ MAILSHIFT_ROLES: 'smtp,relay' }), /MAILSHIFT_ROLES: unknown role relay/);
});

test('a node does everything unless its roles are named', () => {
  assert.deepEqual(loadConfig({}).roles, ['smtp', 'http', 'delivery', 'orchestrator']);
  assert.deepEqual(loadConfig({ MAILSHIFT_ROLES: 'delivery,orchestrator' }).roles, ['delivery', 'orchestrator']);
});

test('bounce rules come from a JSON file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailshift-config-'));
  const good = join(dir, 'rules.json');
  writeFileSync(good, JSON.stringify([{ code: '5xx', outcome: 'deferred', category: 'other' }]));
  assert.deepEqual(loadConfig({ MAILSHIFT_BOUNCE_RULES: good }).bounceRules, [{ code: '5xx', outcome: 'deferred', category: 'other' }]);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify([{ outcome: 'exploded' }]));
  assert.throws(() => loadConfig({ MAILSHIFT_BOUNCE_RULES: bad }), /MAILSHIFT_BOUNCE_RULES/);
});

test('weak admin and metrics tokens are refused; allow lists are parsed', () => {
  assert.throws(() => loadConfig({ MAILSHIFT_ADMIN_TOKEN: 'hunter22' }), /MAILSHIFT_ADMIN_TOKEN is too weak: it has 8 characters/);
  assert.throws(() => loadConfig({ MAILSHIFT_ADMIN_TOKEN: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }), /too few distinct/);
  assert.throws(() => loadConfig({ MAILSHIFT_METRICS_TOKEN: 'short' }), /MAILSHIFT_METRICS_TOKEN/);
  assert.equal(loadConfig({ MAILSHIFT_ADMIN_TOKEN: 'kM3v9QpX2rT7wZ4yB8nC1dF6' }).adminToken, 'kM3v9QpX2rT7wZ4yB8nC1dF6');
  assert.deepEqual(loadConfig({}).webhookAllowNetworks, []);
  assert.equal(loadConfig({ MAILSHIFT_WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8,::1' }).webhookAllowNetworks.length, 2);
  assert.throws(() => loadConfig({ MAILSHIFT_MX_ALLOW_NETWORKS: '10.0.0.0/33' }), /MAILSHIFT_MX_ALLOW_NETWORKS .*"10.0.0.0\/33"/);
});

test('default notice and support addresses are fully qualified even on a bare machine name', () => {
  const c = loadConfig({ MAILSHIFT_HOSTNAME: 'vm' });
  assert.equal(c.supportContact, 'support@vm.localdomain');
  assert.match(c.noticeFrom, /<upgrades@vm\.localdomain>$/);
  assert.equal(c.hostname, 'vm');
});
