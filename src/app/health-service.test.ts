import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthService } from './health-service.ts';

test('healthy while the store answers; a failing store is a value carrying the driver\u2019s error', async () => {
  const engine = { running: false };
  let failure: Error | null = null;
  const health = new HealthService({
    store: {
      ping: async () => {
        if (failure) throw failure;
      },
    },
    engine,
  });
  assert.deepEqual(await health.check(), { ok: true, engine: 'stopped' });
  engine.running = true;
  assert.deepEqual(await health.check(), { ok: true, engine: 'running' });
  failure = new Error('connect ECONNREFUSED db.internal:5432');
  assert.deepEqual(await health.check(), { ok: false, error: failure });
});
