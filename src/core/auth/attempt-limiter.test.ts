import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptLimiter } from './attempt-limiter.ts';

const policy = { maxFailures: 3, windowMs: 60_000, lockMs: 1_000, maxLockMs: 4_000 };

test('locks after the allowed failures, for longer each time, up to the cap', () => {
  const l = new AttemptLimiter(policy);
  let now = 0;
  assert.deepEqual(l.failure('ip:a', now), { allowed: true });
  assert.deepEqual(l.failure('ip:a', now), { allowed: true });
  assert.deepEqual(l.failure('ip:a', now), { allowed: false, retryAfterMs: 1_000 });
  assert.deepEqual(l.check('ip:a', now + 999), { allowed: false, retryAfterMs: 1 });
  assert.deepEqual(l.check('ip:b', now), { allowed: true }, 'other keys are untouched');
  const locks: number[] = [];
  for (let round = 0; round < 4; round++) {
    now += 10_000;
    assert.deepEqual(l.check('ip:a', now), { allowed: true });
    l.failure('ip:a', now);
    l.failure('ip:a', now);
    const v = l.failure('ip:a', now);
    assert.equal(v.allowed, false);
    locks.push(v.allowed ? 0 : v.retryAfterMs);
  }
  assert.deepEqual(locks, [2_000, 4_000, 4_000, 4_000]);
});

test('failures spread wider than the window never lock; a quiet key forgets its locks', () => {
  const l = new AttemptLimiter(policy);
  for (let i = 0; i < 10; i++) assert.equal(l.failure('k', i * 31_000).allowed, true);
  l.failure('k', 400_000);
  l.failure('k', 400_000);
  assert.equal(l.failure('k', 400_000).allowed, false);
  // Much later the next lock starts again from the shortest.
  l.failure('k', 900_000);
  l.failure('k', 900_000);
  assert.deepEqual(l.failure('k', 900_000), { allowed: false, retryAfterMs: 1_000 });
});

test('success clears an unlocked key but not a lock; memory is bounded', () => {
  const l = new AttemptLimiter(policy, 100);
  l.failure('acct', 0);
  l.failure('acct', 0);
  l.success('acct', 0);
  assert.equal(l.failure('acct', 0).allowed, true, 'the count started again');
  l.failure('acct', 0);
  l.failure('acct', 0);
  l.success('acct', 10);
  assert.equal(l.check('acct', 10).allowed, false, 'a locked key stays locked');
  for (let i = 0; i < 1_000; i++) l.failure(`ip:${i}`, 0);
  assert.equal(l.size, 100);
});
