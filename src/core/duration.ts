/** Human-written durations for policies: "250ms", "30s", "5m", "4h", "3.5d", "1h30m". */

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
const week = 7 * day;

const unitMs: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: second,
  sec: second,
  secs: second,
  second: second,
  seconds: second,
  m: minute,
  min: minute,
  mins: minute,
  minute: minute,
  minutes: minute,
  h: hour,
  hr: hour,
  hrs: hour,
  hour: hour,
  hours: hour,
  d: day,
  day: day,
  days: day,
  w: week,
  week: week,
  weeks: week,
};

// One "<number><unit>" part; the unit is a whole word so "5min" is never read as "5m" + "in".
const partPattern = /(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*/y;

/**
 * Milliseconds for a duration string, or null when it is not one. Parts may be combined
 * ("1h30m", "1d 12h"); a bare number is refused except "0", because "300" could mean
 * seconds or milliseconds and a wrong guess here silently changes a retry policy 1000-fold.
 */
export function parseDuration(s: string): number | null {
  const text = s.trim().toLowerCase();
  if (text === '0') return 0;
  if (text === '') return null;
  let total = 0;
  partPattern.lastIndex = 0;
  while (partPattern.lastIndex < text.length) {
    const m = partPattern.exec(text);
    if (!m) return null;
    const perUnit = unitMs[m[2]];
    if (perUnit === undefined) return null;
    total += Number(m[1]) * perUnit;
  }
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : null;
}

const formatUnits: [string, number][] = [
  ['d', day],
  ['h', hour],
  ['m', minute],
  ['s', second],
  ['ms', 1],
];

/** The shortest exact compound form: 90000 -> "1m30s", 302400000 -> "3d12h", 0 -> "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of formatUnits) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
