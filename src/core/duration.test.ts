import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['4h', 14_400_000],
    ['3.5d', 302_400_000],
    ['1w', 604_800_000],
    ['.5s', 500],
    ['1m30s', 90_000],
    ['1h 30m', 5_400_000],
    ['1d12h', 129_600_000],
    ['5min', 300_000],
    ['10 minutes', 600_000],
    ['2hr', 7_200_000],
    ['1 day', 86_400_000],
    ['30sec', 30_000],
    ['  5M  ', 300_000],
    ['0', 0],
    ['0s', 0],
    ['1.5ms', 2],
  ];
  for (const [text, ms] of valid) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  const invalid = ['', '   ', '300', '5', '-5m', '5x', 'm', '5m30', '1.5.5s', 'five minutes', '5 mo', '1e3ms', '5m-', '99999999999999999999d'];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(parseDuration(text), null);
    });
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [90_000, '1m30s'],
    [0, '0s'],
    [250, '250ms'],
    [1_500, '1s500ms'],
    [300_000, '5m'],
    [14_400_000, '4h'],
    [302_400_000, '3d12h'],
    [86_400_001, '1d1ms'],
    [-90_000, '-1m30s'],
    [999.6, '1s'],
  ];
  for (const [ms, text] of cases) {
    it(`writes ${ms} as ${text}`, () => {
      assert.equal(formatDuration(ms), text);
    });
  }

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 3_661_001, 302_400_000, 1_234_567_890]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});
