import { Type, type Static } from 'typebox';
import { Timestamp } from './common.ts';

export const UnsubscribeParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 700 }) });

/** RFC 8058: the one-click POST carries `List-Unsubscribe=One-Click` (form-encoded or multipart). */
export const UnsubscribeBody = Type.Object({
  'List-Unsubscribe': Type.Optional(Type.String({ maxLength: 100, description: 'must be "One-Click"' })),
});

export const UnsubscribeQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 10, description: '"en" or "es"; else Accept-Language' })) });

/** A small HTML page (confirmation, done, or not found). */
export const HtmlPage = Type.String({ description: 'text/html' });

const ReputationWindow = Type.Object({
  deliveries: Type.Integer(),
  hardBounces: Type.Integer(),
  complaints: Type.Integer(),
  unsubscribes: Type.Integer(),
  hardBounceRate: Type.Number({ description: 'hard bounces over deliveries (0 without deliveries)' }),
  complaintRate: Type.Number(),
  unsubscribeRate: Type.Number(),
});

export const Reputation = Type.Object({
  name: Type.String(),
  day: Type.Intersect([ReputationWindow], { description: 'the last 24 hours' }),
  week: Type.Intersect([ReputationWindow], { description: 'the last 7 days' }),
});

export const ReputationReport = Type.Object({
  at: Timestamp,
  complaintThreshold: Type.Number({ description: 'an instance passing this complaint rate over 24 h is suspended' }),
  complaintMinDeliveries: Type.Integer({ description: '…once it has at least this many deliveries in 24 h' }),
  instances: Type.Array(Reputation),
  infrastructures: Type.Array(Reputation),
  alerts: Type.Array(Type.Object({ instance: Type.String(), since: Type.Union([Timestamp, Type.Null()]), reason: Type.String() }), {
    description: 'instances suspended for their complaint rate and not resumed since',
  }),
});

export type Reputation = Static<typeof Reputation>;
export type ReputationReport = Static<typeof ReputationReport>;
