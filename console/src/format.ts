const numberFormat = new Intl.NumberFormat('en');

export const count = (n: number | null | undefined) => (n === null || n === undefined ? '—' : numberFormat.format(n));

/** Operators read UTC everywhere: allowed hours and windows are set in UTC. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export function shortTime(iso: string): string {
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** A datetime-local value read as UTC, to ISO 8601. */
export function utcInputToIso(value: string): string {
  return value ? `${value.length === 16 ? `${value}:00` : value}Z` : '';
}

export function isoToUtcInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/** A rate as a percentage with two decimals ("0.31%"); a dash without deliveries. */
export const percent = (rate: number, deliveries: number) => (deliveries === 0 ? '—' : `${(rate * 100).toFixed(2)}%`);
