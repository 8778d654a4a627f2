import { Type, type Static } from 'typebox';

/** What a customer is told of an instance's switch. */
export const CustomerFacingState = Type.Union([
  Type.Literal('not-scheduled'),
  Type.Literal('scheduled'),
  Type.Literal('sending-paused'),
  Type.Literal('completed'),
  Type.Literal('rolled-back'),
]);

const nullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const nullableInteger = Type.Union([Type.Integer(), Type.Null()]);

/** The fields of an instance's upgrade that its customer may see; everything but `instance`, `environment`, `state` and `supportContact` is absent while nothing is scheduled. */
export const customerUpgradeFields = {
  instance: Type.String(),
  environment: Type.String(),
  state: CustomerFacingState,
  window: Type.Optional(Type.Object({ start: nullableTimestamp, end: nullableTimestamp }, { description: 'the announced window of the wave' })),
  estimateMs: Type.Optional(Type.Number({ description: 'how long the wave is expected to take' })),
  actualStart: Type.Optional(nullableTimestamp),
  actualEnd: Type.Optional(nullableTimestamp),
  held: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'messages held while sending is paused; null otherwise' })),
  switchedAt: Type.Optional(nullableTimestamp),
  pausedMs: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  released: Type.Optional(nullableInteger),
  supportContact: Type.Union([Type.String(), Type.Null()]),
};

/** `GET /api/v1/upgrade/status`: the instance's own view, with the program's bookkeeping. */
export const InstanceUpgradeStatus = Type.Object({
  ...customerUpgradeFields,
  program: Type.Optional(Type.String()),
  phase: Type.Optional(Type.String()),
  wave: Type.Optional(Type.Integer()),
  retry: Type.Optional(Type.Boolean()),
});

/** As much of a reason as is recorded. */
export const maxRequestReasonLength = 2000;

/** The body of a reschedule request or an opt-out: a reason (or no body at all), recorded with the (refusing) answer. */
export const CustomerRequestBody = Type.Union([
  Type.Object({ reason: Type.Optional(Type.String({ description: `recorded up to ${maxRequestReasonLength} characters` })) }, { additionalProperties: false }),
  Type.Null({ description: 'no body' }),
]);

export type InstanceUpgradeStatus = Static<typeof InstanceUpgradeStatus>;
