import { Type, type Static } from 'typebox';
import { Timestamp } from './common.ts';

/** The longest address SMTP carries (RFC 5321: 64 + 1 + 255). */
export const maxAddressLength = 320;
export const maxSuppressionReasonLength = 500;

export const SuppressionBody = Type.Object(
  {
    address: Type.String({ maxLength: maxAddressLength }),
    reason: Type.Optional(Type.String({ maxLength: maxSuppressionReasonLength, description: 'default: "added by API"' })),
  },
  { additionalProperties: false },
);

export const SuppressionAdded = Type.Object({
  address: Type.String({ description: 'as stored: lower-cased, with an A-label domain' }),
  added: Type.Boolean({ description: 'false when the address was listed already' }),
});

export const SuppressionList = Type.Object({
  suppressions: Type.Array(Type.Object({ address: Type.String(), reason: Type.String(), createdAt: Timestamp })),
});

export const AddressParams = Type.Object({ address: Type.String({ minLength: 1, maxLength: maxAddressLength }) });

export type SuppressionBody = Static<typeof SuppressionBody>;
export type SuppressionList = Static<typeof SuppressionList>;
