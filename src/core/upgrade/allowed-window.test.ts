import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { anyTime, fitsAllowed, formatHours, isoWeekday, longestFitMs, nextFit, parseHours, parseWeekdays } from './allowed-window.ts';
import type { AllowedWindow } from './program.ts';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
// 2024-01-01 was a Monday.
const monday = Date.UTC(2024, 0, 1);
const at = (weekday: number, hh: number, mm = 0) => monday + (weekday - 1) * day + hh * hour + mm * minute;

function window(hours: string | undefined, weekdays: unknown = undefined): AllowedWindow {
  const h = parseHours(hours);
  const w = parseWeekdays(weekdays);
  assert.ok(h.ok && w.ok);
  return { startMinute: h.startMinute, endMinute: h.endMinute, weekdays: w.weekdays };
}

describe('parseHours', () => {
  const valid: [string | undefined, number, number][] = [
    [undefined, 0, 0],
    ['00:00-24:00', 0, 0],
    ['22:00-06:00', 1320, 360],
    ['9:30-17:00', 570, 1020],
    [' 08:00 - 12:15 ', 480, 735],
    ['23:00-24:00', 1380, 0],
    ['23:00-00:00', 1380, 0],
    ['00:00-00:01', 0, 1],
  ];
  for (const [text, startMinute, endMinute] of valid) {
    it(`reads ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseHours(text), { ok: true, startMinute, endMinute });
    });
  }
  const invalid = ['', '22-06', '24:00-06:00', '10:60-11:00', '10:00-10:00', '10:00-24:30', '10:00-25:00', '10:00', 'night'];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = parseHours(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, /hours/);
    });
  }
  it('formats back to what it reads', () => {
    for (const text of ['22:00-06:00', '09:30-17:00', '00:00-24:00', '23:00-00:00']) {
      assert.equal(formatHours(window(text)), text);
    }
  });
});

describe('parseWeekdays', () => {
  const valid: [unknown, number[]][] = [
    [undefined, [1, 2, 3, 4, 5, 6, 7]],
    [
      [5, 1, 3, 3],
      [1, 3, 5],
    ],
    ['mon-fri', [1, 2, 3, 4, 5]],
    ['sat-sun', [6, 7]],
    ['fri-mon', [1, 5, 6, 7]],
    ['mon,wed,fri', [1, 3, 5]],
    ['Monday-Tuesday, sun', [1, 2, 7]],
    ['1-5', [1, 2, 3, 4, 5]],
    ['thu', [4]],
  ];
  for (const [input, weekdays] of valid) {
    it(`reads ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseWeekdays(input), { ok: true, weekdays });
    });
  }
  const invalid: unknown[] = [[0], [8], [1.5], ['mon'], [], '', 'funday', 'mon-tue-wed', 'mon-', 5, null, {}];
  for (const input of invalid) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      const parsed = parseWeekdays(input);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, /weekdays/);
    });
  }
});

describe('isoWeekday', () => {
  const cases: [string, number][] = [
    ['1970-01-01T00:00:00Z', 4],
    ['1969-12-31T23:59:59Z', 3],
    ['2024-01-01T00:00:00Z', 1],
    ['2024-01-07T23:59:59Z', 7],
    ['2024-02-29T12:00:00Z', 4],
  ];
  for (const [text, weekday] of cases) {
    it(`${text} is ISO weekday ${weekday}`, () => assert.equal(isoWeekday(Date.parse(text)), weekday));
  }
});

describe('longestFitMs', () => {
  const cases: [string | undefined, unknown, number][] = [
    [undefined, undefined, Infinity],
    ['22:00-06:00', undefined, 8 * hour],
    ['09:00-17:00', 'mon-fri', 8 * hour],
    [undefined, 'mon-fri', 5 * day],
    [undefined, 'fri-mon', 4 * day],
    [undefined, 'mon,wed,fri', day],
    [undefined, 'sun-fri', 6 * day],
    [undefined, 'sun-sat', Infinity],
  ];
  for (const [hours, weekdays, ms] of cases) {
    it(`${hours ?? 'all day'} on ${JSON.stringify(weekdays ?? 'every day')} allows ${ms} ms`, () => {
      assert.equal(longestFitMs(window(hours, weekdays)), ms);
    });
  }
  it('is 0 without weekdays', () => assert.equal(longestFitMs({ ...anyTime, weekdays: [] }), 0));
});

describe('nextFit', () => {
  const cases: [string, string | undefined, unknown, number, number, number | null][] = [
    ['any time: at once', undefined, undefined, at(3, 13, 7), 30 * day, at(3, 13, 7)],
    ['night: waits for the evening', '22:00-06:00', undefined, at(1, 12), hour, at(1, 22)],
    ['night: inside, starts at once', '22:00-06:00', undefined, at(1, 23), hour, at(1, 23)],
    ["night: after midnight, in the previous day's range", '22:00-06:00', undefined, at(2, 3), hour, at(2, 3)],
    ['night: may end exactly at the range end', '22:00-06:00', undefined, at(2, 5), hour, at(2, 5)],
    ['night: too late, next evening', '22:00-06:00', undefined, at(2, 5, 1), hour, at(2, 22)],
    ['night: the whole range', '22:00-06:00', undefined, at(1, 20), 8 * hour, at(1, 22)],
    ['night: longer than the range never fits', '22:00-06:00', undefined, at(1, 20), 8 * hour + 1, null],
    ['weekday of the range start: Friday night into Saturday', '22:00-06:00', 'mon-fri', at(6, 1), hour, at(6, 1)],
    ['Saturday noon waits for Monday night', '22:00-06:00', 'mon-fri', at(6, 12), hour, at(1, 22) + 7 * day],
    ['Monday 02:00 belongs to Sunday night, not allowed', '22:00-06:00', 'mon-fri', at(1, 2), hour, at(1, 22)],
    ['weekend nights only', '22:00-06:00', 'sat-sun', at(1, 12), hour, at(6, 22)],
    ['office hours: next morning', '09:00-17:00', 'mon-fri', at(1, 16, 30), hour, at(2, 9)],
    ['office hours: Friday evening waits for Monday', '09:00-17:00', 'mon-fri', at(5, 16, 30), hour, at(1, 9) + 7 * day],
    ['all day on weekdays: a window may span days', undefined, 'mon-fri', at(1, 0), 3 * day, at(1, 0)],
    ['all day on weekdays: not into Saturday', undefined, 'mon-fri', at(5, 20), 6 * hour, at(1, 0) + 7 * day],
    ['all day on weekdays: the whole working week', undefined, 'mon-fri', at(2, 0), 5 * day, at(1, 0) + 7 * day],
    ['all day on weekdays: longer than a week of weekdays', undefined, 'mon-fri', at(1, 0), 5 * day + 1, null],
    ['all day, a run wrapping past Sunday', undefined, 'fri-mon', at(3, 0), 4 * day, at(5, 0)],
    ['one minute after midnight', '00:01-00:00', undefined, at(1, 0), minute, at(1, 0, 1)],
  ];
  for (const [title, hours, weekdays, from, length, expected] of cases) {
    it(title, () => {
      assert.equal(nextFit(window(hours, weekdays), from, length), expected);
    });
  }

  it('never fits without weekdays', () => {
    assert.equal(nextFit({ ...anyTime, weekdays: [] }, at(1, 0), minute), null);
  });

  /** An independent reading of "inside one allowed interval", by the interval containing the start. */
  function inside(allowed: AllowedWindow, start: number, end: number): boolean {
    const days = new Set(allowed.weekdays);
    const dayOf = (t: number) => Math.floor(t / day) * day;
    if (allowed.startMinute === allowed.endMinute) {
      for (let d = dayOf(start); d < end; d += day) if (!days.has(isoWeekday(d))) return false;
      return true;
    }
    const minuteOfDay = (start - dayOf(start)) / minute;
    const rangeStartDay = minuteOfDay >= allowed.startMinute ? dayOf(start) : dayOf(start) - day;
    const rangeStart = rangeStartDay + allowed.startMinute * minute;
    const rangeLength = ((allowed.endMinute - allowed.startMinute + 1440) % 1440) * minute;
    return days.has(isoWeekday(rangeStartDay)) && start >= rangeStart && end <= rangeStart + rangeLength;
  }

  const configs: [string | undefined, unknown][] = [
    ['22:00-06:00', undefined],
    ['22:00-06:00', 'mon-fri'],
    ['23:30-00:30', 'sat,sun'],
    ['09:00-17:00', 'mon-fri'],
    ['00:00-12:00', 'tue'],
    [undefined, 'mon-fri'],
    [undefined, 'fri-mon'],
  ];
  for (const [hours, weekdays] of configs) {
    it(`agrees with a minute-by-minute search for ${hours ?? 'all day'} on ${weekdays ?? 'every day'}`, () => {
      const allowed = window(hours, weekdays);
      let seed = 7;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (let k = 0; k < 40; k += 1) {
        const from = monday + Math.floor(random() * 14 * 24 * 60) * minute;
        const length = (1 + Math.floor(random() * 24)) * 5 * minute;
        const fit = nextFit(allowed, from, length);
        if (length > longestFitMs(allowed)) {
          assert.equal(fit, null);
          continue;
        }
        let t = from;
        while (!inside(allowed, t, t + length)) t += minute;
        assert.equal(fit, t, `from ${new Date(from).toISOString()} for ${length / minute} min`);
        assert.ok(fitsAllowed(allowed, t, t + length));
      }
    });
  }
});
