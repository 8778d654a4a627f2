import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InflightBudget } from './inflight-budget.ts';

test('reservations past the budget wait, first come first served, or time out', async () => {
  const b = new InflightBudget(100);
  assert.equal(b.tryReserve(60), true);
  assert.equal(b.tryReserve(50), false);
  const order: string[] = [];
  const big = b.reserve(90, 1_000).then((ok) => order.push(`big:${ok}`));
  const small = b.reserve(10, 1_000).then((ok) => order.push(`small:${ok}`));
  assert.equal(b.tryReserve(1), false, 'nobody jumps the queue');
  b.release(60);
  await Promise.all([big, small]);
  assert.deepEqual(order, ['big:true', 'small:true']);
  assert.equal(b.inUse, 100);
  assert.equal(await b.reserve(1, 20), false);
  b.release(100);
  assert.equal(b.inUse, 0);
});

test('one submission larger than the whole budget still fits when nothing else is held', () => {
  const b = new InflightBudget(100);
  assert.equal(b.tryReserve(500), true);
  assert.equal(b.tryReserve(1), false);
  b.release(500);
  assert.equal(b.tryReserve(1), true);
});
