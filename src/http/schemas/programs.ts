import { Type, type Static } from 'typebox';
import { productLines } from '../../core/fleet/fleet.ts';
import { Timestamp } from './common.ts';

const nullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const nullableString = Type.Union([Type.String(), Type.Null()]);
const nullableInteger = Type.Union([Type.Integer(), Type.Null()]);
const nullableNumber = Type.Union([Type.Number(), Type.Null()]);
const duration = (description: string) => Type.String({ description: `${description}, e.g. "30s", "5m", "7d"` });

/**
 * `POST /api/admin/v1/programs` (the names of `mailshift program create`). Types only:
 * core/upgrade/program-spec.ts checks the values and names the field in its message, and
 * refuses unknown fields, so they are let through to it rather than silently dropped.
 */
export const ProgramBody = Type.Object({
  name: Type.String(),
  from: Type.String({ description: 'source infrastructure' }),
  to: Type.String({ description: 'target infrastructure' }),
  // The string first: with ajv's type coercion, an array branch tried first would wrap "a,b" into ["a,b"].
  products: Type.Optional(
    Type.Union([Type.String({ description: 'comma-separated' }), Type.Array(Type.String())], {
      description: `product lines (${productLines.join(', ')}); default all`,
    }),
  ),
  nonprodStart: Type.String({ description: 'ISO 8601 instant: earliest start of the non-production phase' }),
  prodStart: Type.String({ description: 'ISO 8601 instant: earliest start of the production phase' }),
  waveSize: Type.Optional(Type.Integer({ description: 'instances per wave; default 50' })),
  concurrency: Type.Optional(Type.Integer({ description: 'switches at once within a wave; default 5' })),
  hours: Type.Optional(Type.String({ description: 'allowed window hours, UTC, e.g. "22:00-06:00"' })),
  // No type here: a string or a list of numbers, and coercing one into the other would change it.
  weekdays: Type.Optional(Type.Unknown({ description: 'allowed weekdays: "mon-fri" or ISO weekdays such as [1, 2, 3]; default every day' })),
  minNoticeNonprod: Type.Optional(duration('minimum notice before non-production windows; default 7d')),
  minNoticeProd: Type.Optional(duration('minimum notice before production windows; default 30d')),
  reminders: Type.Optional(Type.Array(duration('a reminder before each window'), { maxItems: 20 })),
  supportContact: Type.Optional(Type.String({ description: 'an email address or an http(s) URL' })),
  switchEstimate: Type.Optional(duration('prior per-instance switch time; default 30s')),
  drainAllowance: Type.Optional(duration('time added to each wave; default 5m')),
  haltThreshold: Type.Optional(Type.Number({ description: 'failed share of a wave that halts it, 0 to 1; default 0.1' })),
});

export const ProgramSpec = Type.Object({
  name: Type.String(),
  sourceInfrastructure: Type.String(),
  targetInfrastructure: Type.String(),
  productLines: Type.Array(Type.Enum(productLines)),
  nonProductionStart: Type.Integer({ description: 'epoch ms' }),
  productionStart: Type.Integer({ description: 'epoch ms' }),
  waveSize: Type.Integer(),
  concurrency: Type.Integer(),
  allowed: Type.Object({
    startMinute: Type.Integer(),
    endMinute: Type.Integer(),
    weekdays: Type.Array(Type.Integer({ description: 'ISO weekday, 1 = Monday' })),
  }),
  minNoticeNonProductionMs: Type.Number(),
  minNoticeProductionMs: Type.Number(),
  remindersMs: Type.Array(Type.Number()),
  supportContact: Type.String(),
  switchEstimateMs: Type.Number(),
  drainAllowanceMs: Type.Number(),
  haltThreshold: Type.Number(),
});

const ProgramState = Type.Enum(['draft', 'published', 'running', 'halted', 'completed']);

export const ProgramCreated = Type.Object({ name: Type.String(), state: ProgramState, spec: ProgramSpec });

export const ProgramList = Type.Object({
  programs: Type.Array(Type.Object({ name: Type.String(), state: ProgramState, from: Type.String(), to: Type.String(), createdAt: Timestamp })),
});

const planFields = {
  start: Timestamp,
  end: Timestamp,
  totalMs: Type.Number(),
  notes: Type.Array(Type.String()),
  waves: Type.Array(
    Type.Object({
      index: Type.Integer(),
      phase: Type.String(),
      retry: Type.Boolean(),
      start: Timestamp,
      end: Timestamp,
      estimateMs: Type.Number(),
      instances: Type.Array(Type.String(), { description: 'instance names' }),
    }),
  ),
};

/** The waves a program would have if published now. */
export const Plan = Type.Object({
  program: Type.String(),
  state: ProgramState,
  perInstanceMs: Type.Number({ description: 'the switch time the plan assumes' }),
  ...planFields,
});

export const Published = Type.Object({ program: Type.String(), state: ProgramState, notices: Type.Integer({ description: 'notices queued' }), ...planFields });

export const ProgramResumed = Type.Object({ program: Type.String(), state: ProgramState });

export const ProgramStatus = Type.Object({
  name: Type.String(),
  state: ProgramState,
  haltedReason: nullableString,
  from: Type.String(),
  to: Type.String(),
  supportContact: Type.String(),
  publishedAt: nullableTimestamp,
  waves: Type.Array(
    Type.Object({
      index: Type.Integer(),
      phase: Type.String(),
      retry: Type.Boolean(),
      state: Type.String(),
      start: Timestamp,
      end: Timestamp,
      estimateMs: Type.Number(),
      actualStart: nullableTimestamp,
      actualEnd: nullableTimestamp,
      actualMs: nullableNumber,
      instances: Type.Integer(),
    }),
  ),
  instances: Type.Array(
    Type.Object({
      name: Type.String(),
      wave: Type.Integer(),
      state: Type.String(),
      attempts: Type.Integer(),
      switchedAt: nullableTimestamp,
      pausedMs: nullableNumber,
      released: nullableInteger,
      error: nullableString,
    }),
  ),
  requests: Type.Array(Type.Object({ instance: Type.String(), kind: Type.String(), reason: Type.String(), answer: Type.String(), at: Timestamp })),
});

const noticeFields = {
  id: Type.Integer(),
  kind: Type.String({ description: 'scheduled, reminder, started, completed, rolled-back' }),
  to: Type.String(),
  locale: Type.String(),
  timezone: Type.String(),
  wave: Type.Integer(),
  dueAt: Timestamp,
  state: Type.String(),
  sentAt: nullableTimestamp,
  subject: nullableString,
  body: nullableString,
};

export const Notice = Type.Object(noticeFields);
export const NoticeList = Type.Object({ notices: Type.Array(Notice) });

/** A new link to a customer's status page; the previous one stops working. */
export const StatusTokenIssued = Type.Object({
  customer: Type.String(),
  token: Type.String({ description: 'shown only here, once' }),
  api: Type.String({ description: 'the status API path' }),
  page: Type.String({ description: 'the status page path' }),
});

export { noticeFields };
export type ProgramBody = Static<typeof ProgramBody>;
export type ProgramList = Static<typeof ProgramList>;
export type ProgramCreated = Static<typeof ProgramCreated>;
export type Plan = Static<typeof Plan>;
export type Published = Static<typeof Published>;
export type ProgramResumed = Static<typeof ProgramResumed>;
export type ProgramStatus = Static<typeof ProgramStatus>;
export type Notice = Static<typeof Notice>;
export type StatusTokenIssued = Static<typeof StatusTokenIssued>;
