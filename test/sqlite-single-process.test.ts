import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverEnv, spawnServer, waitForHealthy } from './helpers/process.ts';

const token = 'test-admin-token-5f3a9c81d2e7b604';

test('a second mailshift on the same SQLite file refuses to start and names PostgreSQL; the first keeps serving, and after a kill -9 a new one starts', {
  timeout: 60_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-single-'));
  const envFor = () => serverEnv(dataDir, token);
  const first = await envFor();
  const one = spawnServer(first.env);
  try {
    await waitForHealthy(first.url, one);
    const second = await envFor();
    const two = spawnServer(second.env);
    const exit = await two.exited;
    assert.equal(exit.code, 1, two.output());
    assert.match(two.output(), /^error: another mailshift process is using .*mailshift\.db: .*PostgreSQL/m);
    assert.doesNotMatch(two.output(), /\n\s+at /, 'an operator error, not a stack trace');
    const health = await fetch(`${first.url}/healthz`);
    assert.equal(health.status, 200, 'the first process keeps its spool');

    await one.stop('SIGKILL');
    const third = await envFor();
    const three = spawnServer(third.env);
    try {
      await waitForHealthy(third.url, three);
    } finally {
      await three.stop('SIGTERM');
    }
  } finally {
    await one.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
