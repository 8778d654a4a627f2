import { parseDuration } from '../duration.ts';
import { productLines, type ProductLine } from '../fleet/fleet.ts';
import { validateAddress, validateName } from '../fleet/fleet-input.ts';
import { parseHours, parseWeekdays } from './allowed-window.ts';
import type { ProgramSpec } from './program.ts';

/** What an operator may leave out; `supportContact: null` makes the contact required. */
export type ProgramSpecDefaults = Pick<
  ProgramSpec,
  | 'productLines'
  | 'waveSize'
  | 'concurrency'
  | 'minNoticeNonProductionMs'
  | 'minNoticeProductionMs'
  | 'remindersMs'
  | 'switchEstimateMs'
  | 'drainAllowanceMs'
  | 'haltThreshold'
> & { supportContact: string | null };

const hour = 3_600_000;
const day = 24 * hour;

/** The defaults of issue 3 and the maintenance-window practice of ARCHITECTURE.md. */
export const programSpecDefaults: ProgramSpecDefaults = {
  productLines: [...productLines],
  waveSize: 50,
  concurrency: 5,
  minNoticeNonProductionMs: 7 * day,
  minNoticeProductionMs: 30 * day,
  remindersMs: [72 * hour, 24 * hour],
  switchEstimateMs: 30_000,
  drainAllowanceMs: 5 * 60_000,
  haltThreshold: 0.1,
  supportContact: null,
};

export type ValidatedProgramSpec = { ok: true; spec: ProgramSpec } | { ok: false; error: string };

const knownFields = new Set([
  'name',
  'from',
  'to',
  'products',
  'nonprodStart',
  'prodStart',
  'waveSize',
  'concurrency',
  'hours',
  'weekdays',
  'minNoticeNonprod',
  'minNoticeProd',
  'reminders',
  'supportContact',
  'switchEstimate',
  'drainAllowance',
  'haltThreshold',
]);

// Thrown only inside validateProgramSpec and turned into its result there: it keeps each
// field's check one line long instead of an `if (!x.ok) return x` after every field.
class Invalid extends Error {}

const isoPattern = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * Epoch ms of an ISO 8601 instant. A time needs its zone ("Z" or "+02:00"), since a
 * local reading would depend on the host; a bare date is midnight UTC. Checked field
 * by field, because Date.parse rolls "2025-02-30" over into March.
 */
export function parseInstant(text: string): number | null {
  const m = isoPattern.exec(text.trim());
  if (!m) return null;
  const [year, month, dayOfMonth, h, min, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
  const local = Date.UTC(year, month - 1, dayOfMonth, h, min, s);
  const d = new Date(local);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== dayOfMonth || h > 23 || min > 59 || s > 59) return null;
  const ms = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  let offsetMs = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2));
    if (oh > 23 || om > 59) return null;
    offsetMs = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return local + ms - offsetMs;
}

function instant(field: string, value: unknown): number {
  const t = typeof value === 'string' ? parseInstant(value) : null;
  if (t === null) throw new Invalid(`${field} must be an ISO 8601 instant such as "2025-03-01T22:00:00Z", got ${JSON.stringify(value)}`);
  return t;
}

function duration(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null) throw new Invalid(`${field} must be a duration such as "30s", "5m" or "7d", got ${JSON.stringify(value)}`);
  if (ms < min) throw new Invalid(`${field} must be ${min === 0 ? 'zero or more' : `at least ${min}ms`}, got ${JSON.stringify(value)}`);
  return ms;
}

function wholeNumber(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new Invalid(`${field} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  return value as number;
}

function name(field: string, kind: string, value: unknown): string {
  const named = validateName(kind, value);
  if (!named.ok) throw new Invalid(`${field}: ${named.error.detail}`);
  return named.value;
}

function products(value: unknown, fallback: ProductLine[]): ProductLine[] {
  if (value === undefined) return [...fallback];
  const list = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : value;
  if (!Array.isArray(list) || list.length === 0)
    throw new Invalid(`products must be a non-empty list of ${productLines.join(', ')}, got ${JSON.stringify(value)}`);
  for (const p of list) {
    if (!(productLines as readonly unknown[]).includes(p))
      throw new Invalid(`products: unknown product line ${JSON.stringify(p)}; use ${productLines.join(', ')}`);
  }
  // Canonical order, no repeats: two specs naming the same lines are equal.
  return productLines.filter((p) => list.includes(p));
}

function reminders(value: unknown, fallback: number[]): number[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value)) throw new Invalid(`reminders must be a list of durations such as ["72h", "24h"], got ${JSON.stringify(value)}`);
  const offsets = value.map((r, i) => duration(`reminders[${i}]`, r, 0, 1));
  return [...new Set(offsets)].sort((a, b) => b - a);
}

function supportContact(value: unknown, fallback: string | null): string {
  if (value === undefined) {
    if (fallback === null) throw new Invalid('supportContact is required: the address or page customers write to about the upgrade');
    return fallback;
  }
  if (typeof value === 'string' && /^https?:\/\/\S+$/i.test(value)) return value;
  const address = validateAddress(value);
  if (!address.ok) throw new Invalid(`supportContact must be an email address or an http(s) URL, got ${JSON.stringify(value)}`);
  return address.value;
}

function haltThreshold(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new Invalid(`haltThreshold must be a fraction from 0 to 1 (0.1 = 10%), got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A program spec from operator input (CLI flags or an API body, see the field names in
 * `knownFields`), with defaults for what is left out. Unknown fields are refused so a
 * misspelt option is not silently ignored. Every error names its field.
 */
export function validateProgramSpec(input: unknown, defaults: Partial<ProgramSpecDefaults> = {}): ValidatedProgramSpec {
  const d: ProgramSpecDefaults = { ...programSpecDefaults, ...defaults };
  try {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Invalid('a program must be an object');
    const raw = input as Record<string, unknown>;
    const extra = Object.keys(raw)
      .filter((k) => !knownFields.has(k))
      .sort();
    if (extra.length > 0) throw new Invalid(`unknown field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);

    const programName = name('name', 'program', raw.name);
    const sourceInfrastructure = name('from', 'infrastructure', raw.from);
    const targetInfrastructure = name('to', 'infrastructure', raw.to);
    if (sourceInfrastructure === targetInfrastructure)
      throw new Invalid(`from and to must be different infrastructures, both are ${JSON.stringify(sourceInfrastructure)}`);
    const nonProductionStart = instant('nonprodStart', raw.nonprodStart);
    const productionStart = instant('prodStart', raw.prodStart);
    if (productionStart < nonProductionStart) throw new Invalid(`prodStart (${raw.prodStart}) must not be before nonprodStart (${raw.nonprodStart})`);

    if (raw.hours !== undefined && typeof raw.hours !== 'string')
      throw new Invalid(`hours must look like "22:00-06:00" (UTC), got ${JSON.stringify(raw.hours)}`);
    const hours = parseHours(raw.hours as string | undefined);
    if (!hours.ok) throw new Invalid(hours.error);
    const weekdays = parseWeekdays(raw.weekdays);
    if (!weekdays.ok) throw new Invalid(weekdays.error);

    const spec: ProgramSpec = {
      name: programName,
      sourceInfrastructure,
      targetInfrastructure,
      productLines: products(raw.products, d.productLines),
      nonProductionStart,
      productionStart,
      waveSize: wholeNumber('waveSize', raw.waveSize, d.waveSize),
      concurrency: wholeNumber('concurrency', raw.concurrency, d.concurrency),
      allowed: { startMinute: hours.startMinute, endMinute: hours.endMinute, weekdays: weekdays.weekdays },
      minNoticeNonProductionMs: duration('minNoticeNonprod', raw.minNoticeNonprod, d.minNoticeNonProductionMs, 0),
      minNoticeProductionMs: duration('minNoticeProd', raw.minNoticeProd, d.minNoticeProductionMs, 0),
      remindersMs: reminders(raw.reminders, d.remindersMs),
      supportContact: supportContact(raw.supportContact, d.supportContact),
      switchEstimateMs: duration('switchEstimate', raw.switchEstimate, d.switchEstimateMs, 1),
      drainAllowanceMs: duration('drainAllowance', raw.drainAllowance, d.drainAllowanceMs, 0),
      haltThreshold: haltThreshold(raw.haltThreshold, d.haltThreshold),
    };
    return { ok: true, spec };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.message };
    throw e;
  }
}
