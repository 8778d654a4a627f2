import { Type, type Static } from 'typebox';
import { outcomeTypes } from '../../core/spool/delivery-states.ts';
import { Timestamp } from './common.ts';
import { noticeFields } from './programs.ts';

const nullableString = Type.Union([Type.String(), Type.Null()]);

export const TimelineQuery = Type.Object({
  hours: Type.Integer({ minimum: 1, maximum: 24 * 31, default: 24, description: 'how far back' }),
  buckets: Type.Integer({ minimum: 1, maximum: 500, default: 48 }),
});

const OutcomeCounts = Type.Record(Type.Enum(outcomeTypes), Type.Integer());

/** Outcome events per type in equal buckets up to now. */
export const Timeline = Type.Object({
  since: Timestamp,
  until: Timestamp,
  bucketMs: Type.Number(),
  buckets: Type.Array(Type.Object({ start: Timestamp, ...OutcomeCounts.properties })),
});

export const PendingQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) });

/** An instance's deliveries not yet sent (held while it is suspended), oldest first. */
export const Pending = Type.Object({
  instance: Type.String(),
  suspended: Type.Boolean(),
  scheduled: Type.Integer({ description: 'deliveries held for the instance' }),
  deliveries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      messageId: Type.String(),
      mailFrom: Type.String(),
      recipient: Type.String(),
      state: Type.String(),
      attempts: Type.Integer(),
      size: Type.Integer(),
      createdAt: Timestamp,
      dueAt: Timestamp,
      lastReply: nullableString,
    }),
  ),
});

/** Every infrastructure with its last pre-check and last hour's outcomes. */
export const InfrastructureOverview = Type.Object({
  since: Timestamp,
  capped: Type.Boolean({ description: 'true when the hour had more events than were read: the counts are a lower bound' }),
  infrastructures: Type.Array(
    Type.Object({
      name: Type.String(),
      deliveryMode: Type.Enum(['relay', 'mx']),
      relays: Type.Array(Type.String()),
      heloName: Type.String(),
      verificationAddress: Type.String(),
      instances: Type.Integer(),
      lastPrecheck: Type.Union([Type.Object({ at: Timestamp, ok: Type.Boolean(), program: Type.String(), detail: nullableString }), Type.Null()]),
      lastHour: Type.Object({ delivered: Type.Integer(), deferred: Type.Integer(), bounced: Type.Integer() }),
    }),
  ),
});

export const OpenSwitches = Type.Object({
  switches: Type.Array(Type.Object({ instance: Type.String(), program: Type.String(), wave: Type.Integer(), state: Type.String() })),
});

export const ConsoleNoticesQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }) });

/** The notice outbox, newest due first. */
export const ConsoleNotices = Type.Object({ notices: Type.Array(Type.Object({ ...noticeFields, customer: Type.String(), program: Type.String() })) });

export type Timeline = Static<typeof Timeline>;
export type Pending = Static<typeof Pending>;
export type InfrastructureOverview = Static<typeof InfrastructureOverview>;
export type OpenSwitches = Static<typeof OpenSwitches>;
export type OpenSwitch = OpenSwitches['switches'][number];
export type ConsoleNotices = Static<typeof ConsoleNotices>;
export type ConsoleNotice = ConsoleNotices['notices'][number];
