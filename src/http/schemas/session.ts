import { Type, type Static } from 'typebox';
import { Timestamp } from './common.ts';

/** Signing in to the console with the admin token. */
export const SessionBody = Type.Object({ token: Type.Optional(Type.String({ description: 'the admin token' })) }, { additionalProperties: false });

export const Session = Type.Object({ operator: Type.Literal(true), expiresAt: Timestamp });

export type Session = Static<typeof Session>;
