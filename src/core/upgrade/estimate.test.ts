import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { announcedLengthMs, runningEstimate, waveEstimateMs } from './estimate.ts';

const second = 1000;
const minute = 60 * second;

describe('waveEstimateMs', () => {
  const cases: [number, number, number, number, number][] = [
    // instances, concurrency, per instance, drain allowance -> estimate
    [0, 5, 30 * second, 5 * minute, 5 * minute],
    [1, 5, 30 * second, 5 * minute, 5 * minute + 30 * second],
    [5, 5, 30 * second, 5 * minute, 5 * minute + 30 * second],
    [6, 5, 30 * second, 5 * minute, 6 * minute],
    [50, 5, 30 * second, 5 * minute, 10 * minute],
    [51, 5, 30 * second, 5 * minute, 10 * minute + 30 * second],
    [7, 1, second, 0, 7 * second],
    [7, 100, second, 0, second],
    [3, 0, second, 0, 3 * second],
  ];
  for (const [n, concurrency, per, drain, expected] of cases) {
    it(`${n} instances, ${concurrency} at a time, ${per} ms each, ${drain} ms drain: ${expected} ms`, () => {
      assert.equal(waveEstimateMs(n, concurrency, per, drain), expected);
    });
  }
  it('grows with the instance count', () => {
    let previous = -1;
    for (let n = 0; n <= 200; n += 1) {
      const ms = waveEstimateMs(n, 5, 30 * second, 5 * minute);
      assert.ok(ms >= previous);
      previous = ms;
    }
    assert.ok(waveEstimateMs(200, 5, 30 * second, 0) > waveEstimateMs(100, 5, 30 * second, 0));
  });
});

describe('announcedLengthMs', () => {
  const cases: [number, number][] = [
    [0, 5 * minute],
    [1, 5 * minute],
    [5 * minute, 5 * minute],
    [5 * minute + 1, 10 * minute],
    [10 * minute + 30 * second, 15 * minute],
    [60 * minute, 60 * minute],
  ];
  for (const [estimate, announced] of cases) {
    it(`announces ${estimate} ms as ${announced} ms`, () => assert.equal(announcedLengthMs(estimate), announced));
  }
});

describe('runningEstimate', () => {
  const cases: [string, number, number[], number][] = [
    ['the prior alone without samples', 30 * second, [], 30 * second],
    ['the prior weighs like three samples', 30 * second, [10 * second, 10 * second, 10 * second], 20 * second],
    ['one fast sample moves it a quarter of the way', 40 * second, [0], 30 * second],
    ['rounded up to a whole ms', 1, [2], 2],
    ['invalid samples are ignored', 30 * second, [Number.NaN, -5, Infinity, 10 * second], 25 * second],
  ];
  for (const [title, prior, samples, expected] of cases) {
    it(title, () => assert.equal(runningEstimate(prior, samples), expected));
  }

  it('converges on the samples as they accumulate', () => {
    const samples = Array.from({ length: 1000 }, () => 4 * second);
    const estimate = runningEstimate(30 * second, samples);
    assert.ok(estimate > 4 * second && estimate < 4.1 * second, String(estimate));
  });

  it('does not depend on the order of the samples', () => {
    const samples = [1234.5, 0.1, 999.9, 3e4, 17.25, 0.3, 8888.8];
    const expected = runningEstimate(30 * second, samples);
    for (const order of [[...samples].reverse(), [...samples].sort(), [samples[3], ...samples.slice(0, 3), ...samples.slice(4)]]) {
      assert.equal(runningEstimate(30 * second, order), expected);
    }
  });

  it('leaves its input alone', () => {
    const samples = [3, 1, 2];
    runningEstimate(5, samples);
    assert.deepEqual(samples, [3, 1, 2]);
  });
});
