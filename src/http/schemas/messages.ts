import { Type, type Static } from 'typebox';
import { maxRecipientsPerMessage } from '../../app/accept-service.ts';
import { maxBatchRecipients } from '../../app/batch.ts';
import { maxIdempotencyKeyLength } from '../../app/idempotency.ts';
import { Timestamp } from './common.ts';

// Capped here, before anything is composed: a 1,500,000-address list used to be composed
// first (a minute of CPU) and refused after.
const addressList = Type.Array(Type.String(), { maxItems: maxRecipientsPerMessage });
const headerFields = Type.Record(Type.String(), Type.String(), { description: 'extra header fields, name → value' });

/** `POST /api/v1/messages`: JSON fields to compose, or `raw` MIME with an optional envelope. */
export const MessageBody = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'required unless raw is given' })),
    to: Type.Optional(addressList),
    cc: Type.Optional(addressList),
    bcc: Type.Optional(addressList),
    replyTo: Type.Optional(Type.String()),
    subject: Type.Optional(Type.String()),
    text: Type.Optional(Type.String()),
    html: Type.Optional(Type.String()),
    headers: Type.Optional(headerFields),
    attachments: Type.Optional(
      Type.Array(Type.Object({ filename: Type.String(), content: Type.String({ description: 'base64' }), contentType: Type.Optional(Type.String()) }), {
        maxItems: 100,
      }),
    ),
    raw: Type.Optional(Type.String({ description: 'a whole RFC 5322 message; the envelope defaults to its From, To and Cc' })),
    mailFrom: Type.Optional(Type.String({ description: 'envelope sender of a raw message' })),
    recipients: Type.Optional(Type.Array(Type.String(), { maxItems: maxRecipientsPerMessage, description: 'envelope recipients of a raw message' })),
    listUnsubscribe: Type.Optional(
      Type.Boolean({ description: 'each delivery carries one-click List-Unsubscribe (RFC 8058), whatever the instance\u2019s setting' }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /api/v1/messages/batch`: one Liquid template, one message per recipient. */
export const BatchBody = Type.Object(
  {
    from: Type.String(),
    subject: Type.String(),
    text: Type.Optional(Type.String()),
    html: Type.Optional(Type.String()),
    headers: Type.Optional(headerFields),
    recipients: Type.Array(
      Type.Object({ to: Type.String(), substitutions: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, { additionalProperties: false }),
      { minItems: 1, maxItems: maxBatchRecipients },
    ),
  },
  { additionalProperties: false },
);

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ maxLength: maxIdempotencyKeyLength, description: 'a retry with the same key and request gets the first answer and sends nothing' }),
  ),
});

export const MessageAccepted = Type.Object({
  id: Type.String(),
  recipients: Type.Integer({ description: 'distinct recipients' }),
  suppressed: Type.Array(Type.String(), { description: 'recipients on the suppression list: stored, not sent' }),
});

export const BatchAccepted = Type.Object({
  accepted: Type.Integer(),
  messages: Type.Array(Type.Object({ id: Type.String() })),
  suppressed: Type.Array(Type.String()),
});

export const MessageIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

const nullableString = Type.Union([Type.String(), Type.Null()]);

/** A message with its deliveries (one per recipient) and its events. */
export const MessageView = Type.Object({
  message: Type.Object({
    id: Type.String(),
    instanceId: Type.Integer(),
    mailFrom: Type.String(),
    size: Type.Integer(),
    headerMessageId: nullableString,
    createdAt: Timestamp,
  }),
  deliveries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      recipient: Type.String(),
      state: Type.String(),
      attempts: Type.Integer(),
      lastReply: nullableString,
      lastCategory: nullableString,
      dueAt: Timestamp,
    }),
  ),
  events: Type.Array(
    Type.Object({
      id: Type.Integer(),
      instanceId: Type.Integer(),
      messageId: nullableString,
      deliveryId: Type.Union([Type.Integer(), Type.Null()]),
      type: Type.String(),
      recipient: nullableString,
      at: Timestamp,
      detail: Type.Object({}, { additionalProperties: true }),
    }),
  ),
});

export type MessageBody = Static<typeof MessageBody>;
export type BatchBody = Static<typeof BatchBody>;
export type MessageView = Static<typeof MessageView>;
