import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lazily } from './lazily.ts';

test('lazily loads nothing until asked, then once for every caller', async () => {
  let loads = 0;
  const get = lazily(async () => ({ n: ++loads }));
  assert.equal(loads, 0);
  const [a, b] = await Promise.all([get(), get()]);
  assert.equal(loads, 1);
  assert.equal(a, b);
  assert.equal(await get(), a);
});
