import { Type, type Static } from 'typebox';
import { Timestamp } from './common.ts';

export const CaptureQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, default: 50, description: 'at most 1000 are listed' }),
  raw: Type.Boolean({ default: false, description: 'include each message\u2019s source' }),
});

/** Mail caught by the built-in capture server, newest first. */
export const CaptureList = Type.Object({
  messages: Type.Array(
    Type.Object({
      id: Type.Integer(),
      mailFrom: Type.String(),
      recipients: Type.Array(Type.String()),
      subject: Type.Union([Type.String(), Type.Null()]),
      messageId: Type.Union([Type.String(), Type.Null()], { description: 'the Message-ID header' }),
      size: Type.Integer({ description: 'bytes' }),
      receivedAt: Timestamp,
      raw: Type.Optional(Type.String({ description: 'with ?raw=true' })),
    }),
  ),
});

export type CaptureList = Static<typeof CaptureList>;
export type CapturedMessage = CaptureList['messages'][number];
