import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseInstant, validateProgramSpec } from './program-spec.ts';
import type { ProgramSpec } from './program.ts';

const hour = 3_600_000;
const day = 24 * hour;

const minimal = {
  name: 'relay-2025',
  from: 'old-relays',
  to: 'new-relays',
  nonprodStart: '2025-03-01T22:00:00Z',
  prodStart: '2025-04-01T22:00:00Z',
  supportContact: 'support@example.com',
};

describe('validateProgramSpec', () => {
  it('fills in the defaults', () => {
    const expected: ProgramSpec = {
      name: 'relay-2025',
      sourceInfrastructure: 'old-relays',
      targetInfrastructure: 'new-relays',
      productLines: ['classic-managed', 'managed-cloud', 'standard-on-demand'],
      nonProductionStart: Date.UTC(2025, 2, 1, 22),
      productionStart: Date.UTC(2025, 3, 1, 22),
      waveSize: 50,
      concurrency: 5,
      allowed: { startMinute: 0, endMinute: 0, weekdays: [1, 2, 3, 4, 5, 6, 7] },
      minNoticeNonProductionMs: 7 * day,
      minNoticeProductionMs: 30 * day,
      remindersMs: [72 * hour, 24 * hour],
      supportContact: 'support@example.com',
      switchEstimateMs: 30_000,
      drainAllowanceMs: 300_000,
      haltThreshold: 0.1,
    };
    assert.deepEqual(validateProgramSpec(minimal), { ok: true, spec: expected });
  });

  it('reads every option', () => {
    const result = validateProgramSpec({
      ...minimal,
      products: ['standard-on-demand', 'classic-managed', 'classic-managed'],
      waveSize: 20,
      concurrency: 2,
      hours: '22:00-06:00',
      weekdays: 'mon-thu',
      minNoticeNonprod: '3d',
      minNoticeProd: '2w',
      reminders: ['1h', '48h', '1h'],
      supportContact: 'https://help.example.com/upgrade',
      switchEstimate: '5s',
      drainAllowance: '0',
      haltThreshold: 0.25,
    });
    assert.ok(result.ok, result.ok ? '' : result.error);
    const spec = result.spec;
    assert.deepEqual(spec.productLines, ['classic-managed', 'standard-on-demand']);
    assert.equal(spec.waveSize, 20);
    assert.equal(spec.concurrency, 2);
    assert.deepEqual(spec.allowed, { startMinute: 22 * 60, endMinute: 6 * 60, weekdays: [1, 2, 3, 4] });
    assert.equal(spec.minNoticeNonProductionMs, 3 * day);
    assert.equal(spec.minNoticeProductionMs, 14 * day);
    assert.deepEqual(spec.remindersMs, [48 * hour, hour]);
    assert.equal(spec.supportContact, 'https://help.example.com/upgrade');
    assert.equal(spec.switchEstimateMs, 5_000);
    assert.equal(spec.drainAllowanceMs, 0);
    assert.equal(spec.haltThreshold, 0.25);
  });

  it('reads products written as the CLI flag "P,P"', () => {
    const result = validateProgramSpec({ ...minimal, products: 'managed-cloud, classic-managed' });
    assert.ok(result.ok);
    assert.deepEqual(result.spec.productLines, ['classic-managed', 'managed-cloud']);
  });

  it('takes the support contact from the defaults when the input has none', () => {
    const { supportContact: _, ...withoutContact } = minimal;
    const result = validateProgramSpec(withoutContact, { supportContact: 'help@mailshift.example', waveSize: 10 });
    assert.ok(result.ok);
    assert.equal(result.spec.supportContact, 'help@mailshift.example');
    assert.equal(result.spec.waveSize, 10);
    assert.deepEqual(validateProgramSpec(withoutContact), {
      ok: false,
      error: 'supportContact is required: the address or page customers write to about the upgrade',
    });
  });

  it('allows production to start together with non-production', () => {
    assert.equal(validateProgramSpec({ ...minimal, prodStart: minimal.nonprodStart }).ok, true);
  });

  const invalid: [string, unknown, RegExp][] = [
    ['not an object', null, /must be an object/],
    ['a list', [minimal], /must be an object/],
    ['a misspelt option', { ...minimal, waveSise: 10 }, /unknown field waveSise/],
    ['no name', { ...minimal, name: undefined }, /^name: program name/],
    ['a name with spaces', { ...minimal, name: 'relay 2025' }, /^name: /],
    ['no source', { ...minimal, from: undefined }, /^from: infrastructure name/],
    ['the same source and target', { ...minimal, to: 'old-relays' }, /from and to must be different/],
    ['no non-production start', { ...minimal, nonprodStart: undefined }, /^nonprodStart must be an ISO 8601 instant/],
    ['a non-production start that is not a date', { ...minimal, nonprodStart: 'next monday' }, /^nonprodStart/],
    ['a day that does not exist', { ...minimal, nonprodStart: '2025-02-30T22:00:00Z' }, /^nonprodStart/],
    ['a time without a zone', { ...minimal, prodStart: '2025-04-01T22:00:00' }, /^prodStart/],
    ['a start given as a number', { ...minimal, prodStart: 1_700_000_000_000 }, /^prodStart/],
    ['production before non-production', { ...minimal, prodStart: '2025-02-28T22:00:00Z' }, /prodStart .* must not be before nonprodStart/],
    ['an unknown product line', { ...minimal, products: ['classic-managed', 'legacy'] }, /^products: unknown product line "legacy"/],
    ['no product lines', { ...minimal, products: [] }, /^products must be a non-empty list/],
    ['a wave size of 0', { ...minimal, waveSize: 0 }, /^waveSize must be a whole number/],
    ['a fractional wave size', { ...minimal, waveSize: 2.5 }, /^waveSize/],
    ['a wave size as text', { ...minimal, waveSize: '50' }, /^waveSize/],
    ['a negative concurrency', { ...minimal, concurrency: -1 }, /^concurrency/],
    ['hours out of range', { ...minimal, hours: '25:00-01:00' }, /^hours must look like/],
    ['hours as a number', { ...minimal, hours: 22 }, /^hours must look like/],
    ['an unknown weekday', { ...minimal, weekdays: 'mon-funday' }, /^weekdays/],
    ['a weekday out of range', { ...minimal, weekdays: [0, 1] }, /^weekdays/],
    ['a notice that is not a duration', { ...minimal, minNoticeNonprod: '7 days ago' }, /^minNoticeNonprod must be a duration/],
    ['a bare number as notice', { ...minimal, minNoticeProd: '30' }, /^minNoticeProd must be a duration/],
    ['reminders as one string', { ...minimal, reminders: '72h' }, /^reminders must be a list/],
    ['a reminder that is not a duration', { ...minimal, reminders: ['72h', 'soon'] }, /^reminders\[1\] must be a duration/],
    ['a zero reminder', { ...minimal, reminders: ['0'] }, /^reminders\[0\] must be at least/],
    [
      'a support contact that is neither address nor URL',
      { ...minimal, supportContact: 'call us' },
      /^supportContact must be an email address or an http\(s\) URL/,
    ],
    ['a zero switch estimate', { ...minimal, switchEstimate: '0s' }, /^switchEstimate must be at least/],
    ['a drain allowance that is not a duration', { ...minimal, drainAllowance: '-5m' }, /^drainAllowance must be a duration/],
    ['a halt threshold above 1', { ...minimal, haltThreshold: 1.5 }, /^haltThreshold must be a fraction/],
    ['a halt threshold as a percentage string', { ...minimal, haltThreshold: '10%' }, /^haltThreshold/],
  ];
  for (const [title, input, error] of invalid) {
    it(`refuses ${title}`, () => {
      const result = validateProgramSpec(input);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, error);
    });
  }
});

describe('parseInstant', () => {
  const cases: [string, number | null][] = [
    ['2025-03-01T22:00:00Z', Date.UTC(2025, 2, 1, 22)],
    ['2025-03-01T22:00Z', Date.UTC(2025, 2, 1, 22)],
    ['2025-03-01T22:00:00.250Z', Date.UTC(2025, 2, 1, 22, 0, 0, 250)],
    ['2025-03-01T22:00:00.5Z', Date.UTC(2025, 2, 1, 22, 0, 0, 500)],
    ['2025-03-01T23:30:00+01:30', Date.UTC(2025, 2, 1, 22)],
    ['2025-03-01T17:00:00-0500', Date.UTC(2025, 2, 1, 22)],
    ['2025-03-01', Date.UTC(2025, 2, 1)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2025-02-29', null],
    ['2025-13-01', null],
    ['2025-03-01T24:00:00Z', null],
    ['2025-03-01T22:60:00Z', null],
    ['2025-03-01T22:00:00', null],
    ['2025-03-01T22:00:00+25:00', null],
    ['03/01/2025', null],
    ['', null],
  ];
  for (const [text, expected] of cases) {
    it(`reads ${JSON.stringify(text)} as ${expected}`, () => assert.equal(parseInstant(text), expected));
  }
});
