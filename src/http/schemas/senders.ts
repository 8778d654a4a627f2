import { Type, type Static } from 'typebox';
import { Timestamp } from './common.ts';

export const DomainParams = Type.Object({ domain: Type.String({ minLength: 1, maxLength: 253 }) });

export const DomainBody = Type.Object(
  {
    domain: Type.String({ maxLength: 253 }),
    customer: Type.String({ description: 'an existing customer' }),
    verified: Type.Optional(Type.Boolean({ description: 'asserted by the operator: no DNS token needed' })),
  },
  { additionalProperties: false },
);

export const DomainListQuery = Type.Object({ customer: Type.Optional(Type.String()) });

export const SendingDomain = Type.Object({
  domain: Type.String(),
  customer: Type.String(),
  verified: Type.Boolean(),
  verifiedAt: Type.Union([Timestamp, Type.Null()]),
  verifyName: Type.String({ description: 'where to publish the TXT record that proves ownership' }),
  verifyValue: Type.String({ description: 'the TXT record to publish there' }),
  createdAt: Timestamp,
});
export const DomainList = Type.Object({ domains: Type.Array(SendingDomain) });

export const Verification = Type.Object({ domain: Type.String(), verified: Type.Boolean(), detail: Type.String() });

export const CheckQuery = Type.Object({
  infrastructure: Type.Optional(Type.String({ description: 'default: where the customer\u2019s first instance sends' })),
});

const Verdict = { ok: Type.Boolean(), detail: Type.String() };
export const DomainCheck = Type.Object({
  domain: Type.String(),
  customer: Type.String(),
  verified: Type.Boolean(),
  infrastructure: Type.Union([Type.String(), Type.Null()]),
  ok: Type.Boolean({ description: 'SPF, DKIM and DMARC all pass' }),
  spf: Type.Object({
    ...Verdict,
    addresses: Type.Array(Type.Object({ address: Type.String(), result: Type.String({ description: 'RFC 7208 result' }), detail: Type.String() })),
  }),
  dkim: Type.Object({
    ...Verdict,
    records: Type.Array(
      Type.Object({
        selector: Type.String(),
        algorithm: Type.String(),
        state: Type.String(),
        dnsName: Type.String(),
        ok: Type.Boolean(),
        detail: Type.String(),
      }),
    ),
  }),
  dmarc: Type.Object({ ...Verdict, record: Type.Union([Type.String(), Type.Null()]), policy: Type.Union([Type.String(), Type.Null()]) }),
});

export const DkimKeyBody = Type.Object(
  {
    domain: Type.String({ maxLength: 253 }),
    customer: Type.String(),
    selector: Type.Optional(Type.String({ description: 'default: <algorithm>-<yyyymmdd>' })),
    algorithm: Type.Optional(Type.String({ description: '"rsa" (default) or "ed25519"' })),
    bits: Type.Optional(Type.Integer({ description: 'RSA modulus length; default 2048' })),
  },
  { additionalProperties: false },
);

export const DkimImportBody = Type.Object(
  {
    domain: Type.String({ maxLength: 253 }),
    customer: Type.String(),
    selector: Type.String(),
    privateKey: Type.String({ maxLength: 20_000, description: 'PEM (RSA or Ed25519); sealed at rest, never shown again' }),
  },
  { additionalProperties: false },
);

export const RotateBody = Type.Object(
  {
    algorithm: Type.Optional(Type.String({ description: 'rotate only the keys of this algorithm; default all active ones' })),
    grace: Type.Optional(Type.String({ description: 'how long the old records stay needed, e.g. "7d" (default MAILSHIFT_DKIM_GRACE)' })),
  },
  { additionalProperties: false },
);

export const DkimListQuery = Type.Object({ domain: Type.Optional(Type.String()) });

export const DkimKey = Type.Object({
  domain: Type.String(),
  selector: Type.String(),
  algorithm: Type.String({ description: 'rsa | ed25519' }),
  dnsName: Type.String({ description: 'the TXT record name to publish' }),
  dnsValue: Type.String({ description: 'the TXT record value (split into 255-byte strings in the zone)' }),
  state: Type.String({ description: 'active (signs) | retiring (no longer signs; keep the record) | retired (the record may go)' }),
  createdAt: Timestamp,
  retireAt: Type.Union([Timestamp, Type.Null()]),
});
export const DkimKeyList = Type.Object({ keys: Type.Array(DkimKey) });

export type SendingDomain = Static<typeof SendingDomain>;
export type DomainList = Static<typeof DomainList>;
export type Verification = Static<typeof Verification>;
export type DomainCheck = Static<typeof DomainCheck>;
export type DkimKey = Static<typeof DkimKey>;
export type DkimKeyList = Static<typeof DkimKeyList>;
