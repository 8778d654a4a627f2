import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { grantSize, grantWait, parseRate, refillWait, TokenBucket, type Rate } from './throttle.ts';

describe('parseRate', () => {
  const valid: [string, Rate][] = [
    ['100/s', { count: 100, perMs: 1_000 }],
    ['5000/h', { count: 5000, perMs: 3_600_000 }],
    ['20/m', { count: 20, perMs: 60_000 }],
    ['20/min', { count: 20, perMs: 60_000 }],
    ['1/d', { count: 1, perMs: 86_400_000 }],
    ['1/day', { count: 1, perMs: 86_400_000 }],
    ['3/hr', { count: 3, perMs: 3_600_000 }],
    ['7/sec', { count: 7, perMs: 1_000 }],
    ['10/5s', { count: 10, perMs: 5_000 }],
    ['10/1.5s', { count: 10, perMs: 1_500 }],
    ['50/15min', { count: 50, perMs: 900_000 }],
    [' 100 / s ', { count: 100, perMs: 1_000 }],
    ['100/S', { count: 100, perMs: 1_000 }],
  ];
  for (const [text, rate] of valid) {
    it(`reads ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseRate(text), { ok: true, rate });
    });
  }

  const invalid = ['', '100', '/s', '100/', '0/s', '-1/s', '1.5/s', '100/ms', '100/x', '100/0s', '100/s/s', 'ten/s', '100 per second', '100/1m30s'];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = parseRate(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.ok(parsed.error.includes(JSON.stringify(text)), parsed.error);
    });
  }
});

describe('TokenBucket', () => {
  it('starts full: a burst of `count` passes at once, then it waits', () => {
    const bucket = new TokenBucket({ count: 5, perMs: 1_000 });
    for (let i = 0; i < 5; i += 1) assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 200);
  });

  it('does not consume a token when it refuses', () => {
    const bucket = new TokenBucket({ count: 1, perMs: 1_000 });
    assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 1_000);
    assert.equal(bucket.take(0), 1_000);
    assert.equal(bucket.take(400), 600);
    assert.equal(bucket.take(1_000), 0);
  });

  it('refills continuously, not in steps', () => {
    const bucket = new TokenBucket({ count: 10, perMs: 1_000 }, 1);
    assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(50), 50);
    assert.equal(bucket.take(100), 0);
    assert.equal(bucket.take(130), 70);
  });

  it('never holds more than its burst, however long it idles', () => {
    const bucket = new TokenBucket({ count: 100, perMs: 1_000 }, 3);
    assert.equal(bucket.capacity, 3);
    for (let i = 0; i < 3; i += 1) bucket.take(0);
    for (let i = 0; i < 3; i += 1) assert.equal(bucket.take(3_600_000), 0);
    assert.equal(bucket.take(3_600_000), 10);
  });

  it('keeps at least one token of capacity', () => {
    assert.equal(new TokenBucket({ count: 5, perMs: 1_000 }, 0).capacity, 1);
    assert.equal(new TokenBucket({ count: 5, perMs: 1_000 }, -4).capacity, 1);
    assert.equal(new TokenBucket({ count: 5, perMs: 1_000 }, Number.NaN).capacity, 1);
    assert.equal(new TokenBucket({ count: 5, perMs: 1_000 }).capacity, 5);
  });

  it('waits for slow rates in whole milliseconds, rounded up', () => {
    const bucket = new TokenBucket({ count: 5000, perMs: 3_600_000 }, 1);
    assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 720);
    const thirds = new TokenBucket({ count: 3, perMs: 1_000 }, 1);
    assert.equal(thirds.take(0), 0);
    assert.equal(thirds.take(0), 334);
  });

  it('grants a token exactly when the returned wait has elapsed', () => {
    for (const rate of [
      { count: 3, perMs: 1_000 },
      { count: 7, perMs: 60_000 },
      { count: 5000, perMs: 3_600_000 },
      { count: 1, perMs: 86_400_000 },
    ]) {
      const bucket = new TokenBucket(rate, 2);
      let now = 0;
      let granted = 0;
      for (let i = 0; i < 200; i += 1) {
        const wait = bucket.take(now);
        if (wait === 0) {
          granted += 1;
          continue;
        }
        now += wait;
        assert.equal(bucket.take(now), 0, `rate ${rate.count}/${rate.perMs} at ${now}`);
        granted += 1;
      }
      // Over the run the rate holds: burst + elapsed * rate, never more.
      assert.ok(granted <= 2 + Math.floor((now * rate.count) / rate.perMs) + 1);
    }
  });

  it('does not refill twice when the clock steps backwards', () => {
    const bucket = new TokenBucket({ count: 1, perMs: 1_000 });
    assert.equal(bucket.take(10_000), 0);
    assert.equal(bucket.take(5_000), 1_000);
    assert.equal(bucket.take(10_500), 500);
    assert.equal(bucket.take(11_000), 0);
  });
});

describe('shared buckets', () => {
  it('grants a thirtieth of the burst at once, at least one token', () => {
    assert.equal(grantSize(20), 1);
    assert.equal(grantSize(59), 1);
    assert.equal(grantSize(60), 2);
    assert.equal(grantSize(1000), 33);
    assert.equal(grantSize(1), 1);
    // Three nodes holding a grant each hold no more than a tenth of the burst beyond it.
    for (const capacity of [30, 100, 1000, 5000, 100_000]) assert.ok(3 * grantSize(capacity) <= capacity / 10);
  });

  it('waits whole milliseconds until `wanted` tokens are there', () => {
    assert.equal(refillWait({ count: 20, perMs: 1000 }, 0, 1), 50);
    assert.equal(refillWait({ count: 20, perMs: 1000 }, 0.5, 1), 25);
    assert.equal(refillWait({ count: 3, perMs: 1000 }, 0, 1), 334);
    assert.equal(refillWait({ count: 20, perMs: 1000 }, 2, 1), 1, 'at least 1 ms');
  });

  it('after an empty grant, waits for a whole grant when it is near, else for one token', () => {
    // 1000/s, grants of 33: 33 ms for a whole grant, within 50 ms.
    assert.equal(grantWait({ count: 1000, perMs: 1000 }, 0, 33, 50), 33);
    // 100/s, grants of 3: a whole grant in 30 ms.
    assert.equal(grantWait({ count: 100, perMs: 1000 }, 0, 3, 50), 30);
    // 5000/h, grants of 166: two minutes for a grant; one token in 720 ms is what it waits for.
    assert.equal(grantWait({ count: 5000, perMs: 3_600_000 }, 0, 166, 50), 720);
    // 20000/min, grants of 666: 2 s for a grant; a token in 3 ms, so it waits the 50 ms at most.
    assert.equal(grantWait({ count: 20_000, perMs: 60_000 }, 0, 666, 50), 50);
  });
});
