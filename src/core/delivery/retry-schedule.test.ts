import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRetryPolicy, delayForAttempt, nextRetry, parseRetryPolicy, type RetryPolicy } from './retry-schedule.ts';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

describe('defaultRetryPolicy', () => {
  it('retries after 5 minutes, doubling up to 4 hours, expiring after 3.5 days', () => {
    assert.deepEqual({ ...defaultRetryPolicy }, { initialDelayMs: 5 * minute, factor: 2, maxDelayMs: 4 * hour, maxAgeMs: 3.5 * day });
  });

  it('cannot be changed by accident', () => {
    assert.ok(Object.isFrozen(defaultRetryPolicy));
  });
});

describe('delayForAttempt', () => {
  const cases: [number, number][] = [
    [1, 5 * minute],
    [2, 10 * minute],
    [3, 20 * minute],
    [4, 40 * minute],
    [5, 80 * minute],
    [6, 160 * minute],
    [7, 4 * hour],
    [50, 4 * hour],
    [10_000, 4 * hour],
    [0, 5 * minute],
    [Number.NaN, 5 * minute],
  ];
  for (const [attempts, delay] of cases) {
    it(`after ${attempts} attempt(s) waits ${delay / minute} minutes`, () => {
      assert.equal(delayForAttempt(defaultRetryPolicy, attempts), delay);
    });
  }

  it('rounds fractional delays up to whole milliseconds', () => {
    assert.equal(delayForAttempt({ initialDelayMs: 1000, factor: 1.5, maxDelayMs: 10_000, maxAgeMs: day }, 2), 1500);
    assert.equal(delayForAttempt({ initialDelayMs: 1001, factor: 1.1, maxDelayMs: 10_000, maxAgeMs: day }, 2), 1102);
  });

  it('keeps a constant delay with factor 1', () => {
    const policy: RetryPolicy = { initialDelayMs: minute, factor: 1, maxDelayMs: hour, maxAgeMs: day };
    assert.equal(delayForAttempt(policy, 1), minute);
    assert.equal(delayForAttempt(policy, 100), minute);
  });
});

describe('nextRetry', () => {
  const cases: { name: string; attempts: number; ageMs: number; want: ReturnType<typeof nextRetry> }[] = [
    { name: 'first deferral of a fresh delivery', attempts: 1, ageMs: 0, want: { kind: 'retry', delayMs: 5 * minute } },
    { name: 'third deferral', attempts: 3, ageMs: 15 * minute, want: { kind: 'retry', delayMs: 20 * minute } },
    { name: 'capped at the maximum delay', attempts: 12, ageMs: day, want: { kind: 'retry', delayMs: 4 * hour } },
    { name: 'delay ending exactly at expiry is kept', attempts: 20, ageMs: 3.5 * day - 4 * hour, want: { kind: 'retry', delayMs: 4 * hour } },
    { name: 'last retry pulled forward to the expiry boundary', attempts: 20, ageMs: 3.5 * day - hour, want: { kind: 'retry', delayMs: hour } },
    { name: 'one millisecond before expiry', attempts: 20, ageMs: 3.5 * day - 1, want: { kind: 'retry', delayMs: 1 } },
    { name: 'deferral at the boundary expires', attempts: 21, ageMs: 3.5 * day, want: { kind: 'expired' } },
    { name: 'deferral past the boundary expires', attempts: 21, ageMs: 4 * day, want: { kind: 'expired' } },
    { name: 'first attempt already too old expires', attempts: 1, ageMs: 5 * day, want: { kind: 'expired' } },
    { name: 'negative age (clock skew) is treated as new', attempts: 1, ageMs: -minute, want: { kind: 'retry', delayMs: 5 * minute } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(nextRetry(defaultRetryPolicy, c.attempts, c.ageMs), c.want);
    });
  }

  it('ends with exactly one attempt at the boundary, then expires', () => {
    // Walk a delivery that is deferred every time, as the engine would.
    let age = 0;
    let attempts = 1;
    const delays: number[] = [];
    for (;;) {
      const decision = nextRetry(defaultRetryPolicy, attempts, age);
      if (decision.kind === 'expired') break;
      delays.push(decision.delayMs);
      age += decision.delayMs;
      attempts += 1;
      assert.ok(attempts < 100, 'schedule must terminate');
    }
    assert.equal(age, defaultRetryPolicy.maxAgeMs);
    assert.deepEqual(
      delays.slice(0, 7),
      [5, 10, 20, 40, 80, 160, 240].map((m) => m * minute),
    );
    // 5+10+20+40+80+160 = 315 min, then 4 h steps until 3.5 d = 5040 min: 19 full steps and a 165 min remainder.
    assert.equal(delays.length, 6 + 19 + 1);
    assert.equal(delays.at(-1), 165 * minute);
  });

  it('clamps the first retry when maxAge is shorter than the initial delay', () => {
    const policy: RetryPolicy = { ...defaultRetryPolicy, maxAgeMs: 2 * minute };
    assert.deepEqual(nextRetry(policy, 1, 0), { kind: 'retry', delayMs: 2 * minute });
    assert.deepEqual(nextRetry(policy, 2, 2 * minute), { kind: 'expired' });
  });

  it('throws on a NaN age, which only a caller bug can produce', () => {
    assert.throws(() => nextRetry(defaultRetryPolicy, 1, Number.NaN), RangeError);
  });
});

describe('parseRetryPolicy', () => {
  it('gives the defaults for undefined and for an empty object', () => {
    assert.deepEqual(parseRetryPolicy(undefined), { ok: true, policy: { ...defaultRetryPolicy } });
    assert.deepEqual(parseRetryPolicy({}), { ok: true, policy: { ...defaultRetryPolicy } });
  });

  it('returns a copy, never the frozen default', () => {
    const parsed = parseRetryPolicy({});
    assert.ok(parsed.ok);
    assert.notEqual(parsed.policy, defaultRetryPolicy);
    assert.ok(!Object.isFrozen(parsed.policy));
  });

  it('reads duration strings and fills missing fields from the defaults', () => {
    assert.deepEqual(parseRetryPolicy({ initialDelayMs: '30s', maxAgeMs: '3.5d' }), {
      ok: true,
      policy: { initialDelayMs: 30_000, factor: 2, maxDelayMs: 4 * hour, maxAgeMs: 3.5 * day },
    });
    assert.deepEqual(parseRetryPolicy({ initialDelayMs: '250ms', factor: 1.5, maxDelayMs: '1h30m', maxAgeMs: '2d' }), {
      ok: true,
      policy: { initialDelayMs: 250, factor: 1.5, maxDelayMs: 90 * minute, maxAgeMs: 2 * day },
    });
  });

  it('reads numbers as milliseconds', () => {
    assert.deepEqual(parseRetryPolicy({ initialDelayMs: 60_000, maxDelayMs: 3_600_000 }), {
      ok: true,
      policy: { ...defaultRetryPolicy, initialDelayMs: 60_000, maxDelayMs: 3_600_000 },
    });
  });

  const refused: [string, unknown, RegExp][] = [
    ['null', null, /must be an object/],
    ['a string', '5m', /must be an object/],
    ['an array', [], /must be an object/],
    ['an unknown field', { maxAge: '3d' }, /unknown field "maxAge"/],
    ['an unreadable duration', { initialDelayMs: '5 fortnights' }, /initialDelayMs must be a positive duration/],
    ['a bare numeric string', { initialDelayMs: '300' }, /initialDelayMs/],
    ['a zero delay', { initialDelayMs: 0 }, /initialDelayMs/],
    ['a negative age', { maxAgeMs: -1 }, /maxAgeMs/],
    ['an infinite delay', { maxDelayMs: Number.POSITIVE_INFINITY }, /maxDelayMs/],
    ['a boolean duration', { maxAgeMs: true }, /maxAgeMs/],
    ['a shrinking factor', { factor: 0.5 }, /factor must be a number of at least 1/],
    ['a string factor', { factor: '2' }, /factor/],
    ['a NaN factor', { factor: Number.NaN }, /factor/],
    ['a max delay below the initial delay', { initialDelayMs: '10m', maxDelayMs: '5m' }, /maxDelayMs must be at least initialDelayMs/],
    ['a max delay below the default initial delay', { maxDelayMs: '1m' }, /maxDelayMs must be at least initialDelayMs/],
  ];
  for (const [name, input, message] of refused) {
    it(`refuses ${name}`, () => {
      const parsed = parseRetryPolicy(input);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, message);
    });
  }
});
