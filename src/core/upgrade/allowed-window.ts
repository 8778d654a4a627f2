import type { AllowedWindow } from './program.ts';

const minuteMs = 60_000;
const dayMs = 24 * 60 * minuteMs;
const minutesPerDay = 24 * 60;

export const allWeekdays = [1, 2, 3, 4, 5, 6, 7];

/** Any hour of any day: what a program without `hours` or `weekdays` gets. */
export const anyTime: AllowedWindow = { startMinute: 0, endMinute: 0, weekdays: allWeekdays };

export type ParsedHours = { ok: true; startMinute: number; endMinute: number } | { ok: false; error: string };
export type ParsedWeekdays = { ok: true; weekdays: number[] } | { ok: false; error: string };

const hoursPattern = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/;

/**
 * Reads "HH:MM-HH:MM" (UTC). A range whose end is before its start crosses midnight
 * ("22:00-06:00"). "00:00-24:00" and an absent value mean all day, stored as
 * startMinute === endMinute === 0; any other equal start and end is refused because
 * "10:00-10:00" reads as an empty range as much as a full one.
 */
export function parseHours(text: string | undefined): ParsedHours {
  if (text === undefined) return { ok: true, startMinute: 0, endMinute: 0 };
  const m = hoursPattern.exec(text.trim());
  const bad = { ok: false as const, error: `hours must look like "22:00-06:00" (UTC), got ${JSON.stringify(text)}` };
  if (!m) return bad;
  const [sh, sm, eh, em] = [m[1], m[2], m[3], m[4]].map(Number);
  if (sh > 23 || sm > 59 || em > 59 || eh > 24 || (eh === 24 && em !== 0)) return bad;
  const startMinute = sh * 60 + sm;
  const endMinute = (eh * 60 + em) % minutesPerDay;
  if (startMinute === endMinute) {
    if (startMinute === 0) return { ok: true, startMinute: 0, endMinute: 0 };
    return { ok: false, error: `hours ${JSON.stringify(text)} is empty; use "00:00-24:00" for all day` };
  }
  return { ok: true, startMinute, endMinute };
}

const dayNames = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const fullDayNames = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function dayNumber(token: string): number | null {
  const t = token.trim().toLowerCase();
  if (/^[1-7]$/.test(t)) return Number(t);
  const short = dayNames.indexOf(t);
  if (short >= 0) return short + 1;
  const full = fullDayNames.indexOf(t);
  return full >= 0 ? full + 1 : null;
}

/**
 * Reads ISO weekdays (1 = Monday .. 7 = Sunday) from a list of numbers or a string such
 * as "mon-fri", "mon,wed,fri", "sat-sun" or "fri-mon" (a range may wrap past Sunday).
 * Absent means every day. The result is sorted and without repeats.
 */
export function parseWeekdays(input: unknown): ParsedWeekdays {
  if (input === undefined) return { ok: true, weekdays: [...allWeekdays] };
  const days = new Set<number>();
  if (Array.isArray(input)) {
    for (const d of input) {
      if (!Number.isInteger(d) || d < 1 || d > 7) {
        return { ok: false, error: `weekdays must be ISO weekdays 1 (Monday) to 7 (Sunday), got ${JSON.stringify(d)}` };
      }
      days.add(d);
    }
  } else if (typeof input === 'string') {
    for (const part of input.split(',')) {
      const ends = part.split('-');
      const from = ends.length <= 2 ? dayNumber(ends[0]) : null;
      const to = ends.length === 2 ? dayNumber(ends[1]) : from;
      if (from === null || to === null) {
        return { ok: false, error: `weekdays must look like "mon-fri" or "mon,wed,fri", got ${JSON.stringify(input)}` };
      }
      for (let d = from; ; d = (d % 7) + 1) {
        days.add(d);
        if (d === to) break;
      }
    }
  } else {
    return { ok: false, error: `weekdays must be a list of 1-7 or a string like "mon-fri", got ${JSON.stringify(input)}` };
  }
  if (days.size === 0) return { ok: false, error: 'weekdays must name at least one day' };
  return { ok: true, weekdays: [...days].sort((a, b) => a - b) };
}

export function isAllDay(allowed: AllowedWindow): boolean {
  return allowed.startMinute === allowed.endMinute;
}

/** ISO weekday (1 = Monday .. 7 = Sunday) of an instant, in UTC. */
export function isoWeekday(t: number): number {
  const days = Math.floor(t / dayMs);
  // 1970-01-01 was a Thursday (ISO 4).
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

/** Length of one day's allowed range, in ms (a whole day when all day). */
function rangeMs(allowed: AllowedWindow): number {
  const minutes = (allowed.endMinute - allowed.startMinute + minutesPerDay) % minutesPerDay;
  return (minutes === 0 ? minutesPerDay : minutes) * minuteMs;
}

/**
 * The longest span a window can have: one day's range, or, all day, the longest run of
 * consecutive allowed weekdays (Infinity when every day is allowed; 0 when none is).
 */
export function longestFitMs(allowed: AllowedWindow): number {
  const days = new Set(allowed.weekdays);
  if (days.size === 0) return 0;
  if (!isAllDay(allowed)) return rangeMs(allowed);
  if (days.size === 7) return Infinity;
  let longest = 0;
  for (const first of days) {
    let run = 0;
    while (days.has(((first - 1 + run) % 7) + 1)) run += 1;
    longest = Math.max(longest, run);
  }
  return longest * dayMs;
}

/**
 * The earliest instant t >= from such that [t, t + lengthMs] lies inside one allowed
 * interval whose start day (UTC) is an allowed weekday, or null when lengthMs exceeds
 * every interval so it can never fit. An interval is one day's range, starting on that
 * day and possibly crossing midnight; all day, consecutive allowed days join into one
 * interval, so a window may span them.
 */
export function nextFit(allowed: AllowedWindow, from: number, lengthMs: number): number | null {
  if (lengthMs > longestFitMs(allowed)) return null;
  const days = new Set(allowed.weekdays);
  if (days.size === 7 && isAllDay(allowed)) return from;
  const length = rangeMs(allowed);
  // Start one day back: yesterday's range may cross midnight into today. Two weeks ahead
  // is more than enough, since the pattern repeats weekly and the length fits some interval.
  const firstDay = Math.floor(from / dayMs) * dayMs - dayMs;
  for (let day = firstDay; day < firstDay + 16 * dayMs; day += dayMs) {
    if (!days.has(isoWeekday(day))) continue;
    const start = day + allowed.startMinute * minuteMs;
    let end = start + length;
    if (isAllDay(allowed)) {
      while (days.has(isoWeekday(end))) end += dayMs;
    }
    const t = Math.max(from, start);
    if (t + lengthMs <= end) return t;
  }
  return null;
}

/** Whether [start, end] lies inside one allowed interval (the property nextFit guarantees). */
export function fitsAllowed(allowed: AllowedWindow, start: number, end: number): boolean {
  return nextFit(allowed, start, end - start) === start;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** "22:00-06:00", or "00:00-24:00" all day: the form parseHours reads. */
export function formatHours(allowed: AllowedWindow): string {
  if (isAllDay(allowed)) return '00:00-24:00';
  const hhmm = (m: number) => `${two(Math.floor(m / 60))}:${two(m % 60)}`;
  return `${hhmm(allowed.startMinute)}-${hhmm(allowed.endMinute)}`;
}
