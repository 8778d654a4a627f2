import { DateTime, IANAZone } from 'luxon';

const minuteMs = 60_000;
const hourMs = 60 * minuteMs;
const dayMs = 24 * hourMs;

/** The zone to show times in: the contact's if it is a known IANA zone, else UTC. */
export function resolveZone(timezone: string): string {
  const zone = timezone.trim();
  return IANAZone.isValidZone(zone) ? zone : 'UTC';
}

export interface FormattedTime {
  /** "domingo, 25 de octubre de 2026" */
  date: string;
  /** "domingo, 25 de octubre de 2026, 02:30 CEST (UTC+02:00)" */
  dateTime: string;
}

/**
 * A moment as a contact reads it. The UTC offset is always shown, because an
 * abbreviation alone is missing in many locale/zone pairs (ICU prints "GMT-4") and a
 * wall time alone is ambiguous in the hour a daylight-saving change repeats.
 */
export function formatTime(ms: number, zone: string, locale: string): FormattedTime {
  const at = DateTime.fromMillis(ms, { zone }).setLocale(locale);
  const date = at.toLocaleString({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  // 24-hour locales read "02:30" in timetables; 12-hour ones read "2:30 AM".
  const hour = usesTwentyFourHours(locale) ? '2-digit' : 'numeric';
  const time = at.toLocaleString({ hour, minute: '2-digit' });
  return { date, dateTime: `${date}, ${time} ${zoneLabel(at)}` };
}

function usesTwentyFourHours(locale: string): boolean {
  const cycle = new Intl.DateTimeFormat(locale, { hour: 'numeric' }).resolvedOptions().hourCycle;
  return cycle === 'h23' || cycle === 'h24';
}

/** "CEST (UTC+02:00)", or just "UTC-04:00" when the locale has no abbreviation for the zone. */
function zoneLabel(at: DateTime): string {
  const offset = at.offset === 0 ? 'UTC' : `UTC${at.toFormat('ZZ')}`;
  const abbreviation = at.offsetNameShort ?? '';
  if (abbreviation === '' || abbreviation === 'UTC' || /^(GMT|UTC)[+\-\u2212]/.test(abbreviation)) {
    return offset;
  }
  return `${abbreviation} (${at.offset === 0 ? 'UTC+00:00' : offset})`;
}

function units(value: number, unit: 'minute' | 'hour' | 'day', locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}

/**
 * An estimate in words: "15 minutes", "1 hour and 30 minutes", "1 hora y 30 minutos".
 * Whole minutes under an hour, five-minute steps above: more precision than that would
 * promise what an estimate cannot. The template says "about".
 */
export function formatEstimate(ms: number, locale: string): string {
  const minutes = Math.max(1, Math.round(ms / minuteMs));
  if (minutes < 60) return units(minutes, 'minute', locale);
  const rounded = Math.round(ms / (5 * minuteMs)) * 5;
  const parts = [units(Math.floor(rounded / 60), 'hour', locale)];
  if (rounded % 60 !== 0) parts.push(units(rounded % 60, 'minute', locale));
  return new Intl.ListFormat(locale, { type: 'conjunction', style: 'long' }).format(parts);
}

/** A reminder's lead time: "72 hours", "24 horas", "7 days"; hours up to three days. */
export function formatLead(ms: number, locale: string): string {
  if (ms < hourMs) return units(Math.max(1, Math.round(ms / minuteMs)), 'minute', locale);
  if (ms <= 3 * dayMs) return units(Math.round(ms / hourMs), 'hour', locale);
  return units(Math.round(ms / dayMs), 'day', locale);
}

/** "1,234" / "1.234". Grouped from four digits on, although CLDR's Spanish data starts at
 * five, so that counts in one notice all look alike. */
export function formatCount(n: number, locale: string): string {
  // 'always' is in Node 20's Intl but not in the ES2022 lib this project compiles against.
  const options = { useGrouping: 'always' } as unknown as Intl.NumberFormatOptions;
  return new Intl.NumberFormat(locale, options).format(n);
}
