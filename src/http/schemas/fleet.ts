import { Type, type Static } from 'typebox';
import { environments, productLines, tlsPolicies } from '../../core/fleet/fleet.ts';
import { Timestamp } from './common.ts';
import { QueueCounts } from './queue.ts';

// Request bodies give types and shape; the detailed checks (name patterns, relays, CIDRs,
// time zones) stay in core/fleet/fleet-input.ts, whose messages name the field and value.
// Unknown fields are dropped, as they were ignored before.

const ContactBody = Type.Object(
  {
    email: Type.String({ maxLength: 320 }),
    locale: Type.Optional(Type.String({ description: 'e.g. "en" or "es-ES"; default "en"' })),
    timezone: Type.Optional(Type.String({ description: 'IANA time zone; default "UTC"' })),
  },
  { additionalProperties: false },
);

export const CustomerBody = Type.Object(
  {
    name: Type.String({ description: "1-63 letters, digits, '.', '_' or '-'" }),
    contacts: Type.Optional(Type.Array(ContactBody, { maxItems: 100, description: 'who receives upgrade notices' })),
  },
  { additionalProperties: false },
);

const ShapingRuleBody = Type.Object(
  {
    domain: Type.String({ description: 'a destination domain, or "*" for every other one' }),
    maxConnections: Type.Optional(Type.Integer({ description: 'default 10' })),
    maxMessagesPerConnection: Type.Optional(Type.Integer({ description: 'default 100' })),
    rate: Type.Optional(Type.Union([Type.String({ description: 'e.g. "100/s", "5000/h"' }), Type.Null()])),
    tls: Type.Optional(Type.String({ description: `outbound TLS policy for this destination: ${tlsPolicies.join(' | ')}; default: the infrastructure's` })),
  },
  { additionalProperties: false },
);

const RelayBody = Type.Union([
  Type.String({ description: 'HOST:PORT; the port defaults to 25' }),
  Type.Object(
    {
      address: Type.String({ description: 'HOST:PORT' }),
      secure: Type.Optional(Type.Boolean({ description: 'implicit TLS from the first byte (port 465) instead of STARTTLS' })),
      user: Type.Optional(Type.String({ description: 'AUTH login; sent only over TLS' })),
      password: Type.Optional(Type.String({ description: 'stored sealed with the secret key; never shown again' })),
    },
    { additionalProperties: false },
  ),
]);

export const InfrastructureBody = Type.Object(
  {
    name: Type.String(),
    deliveryMode: Type.Optional(Type.String({ description: '"relay" (default) or "mx"' })),
    relays: Type.Optional(Type.Array(RelayBody, { maxItems: 100 })),
    sourceAddresses: Type.Optional(Type.Array(Type.String({ description: 'an IP address' }), { maxItems: 1000 })),
    heloName: Type.Optional(Type.String()),
    dkim: Type.Optional(
      Type.Array(
        Type.Object({ domain: Type.String(), selector: Type.String(), privateKey: Type.String({ description: 'PEM' }) }, { additionalProperties: false }),
        { maxItems: 100 },
      ),
    ),
    shaping: Type.Optional(Type.Array(ShapingRuleBody, { maxItems: 1000 })),
    verificationAddress: Type.Optional(Type.String({ description: 'the canary address a switch verifies with' })),
    mxPort: Type.Optional(Type.Union([Type.Integer({ description: 'direct-MX delivery\u2019s port; default 25 (other ports for test rigs)' }), Type.Null()])),
    tls: Type.Optional(Type.String({ description: `outbound TLS policy: ${tlsPolicies.join(' | ')}; default opportunistic` })),
    mtaSts: Type.Optional(Type.Boolean({ description: 'direct-MX: fetch and enforce recipient domains\u2019 MTA-STS policies (RFC 8461); default false' })),
    unverifiedFrom: Type.Optional(
      Type.String({ description: 'mail whose From domain its customer has not verified: "unsigned" (default, sent without DKIM) or "refuse" (550 5.7.1)' }),
    ),
    spfInclude: Type.Optional(Type.String({ description: 'the SPF include that covers the source addresses, named by domain checks' })),
    bounceDomain: Type.Optional(
      Type.Union([Type.String({ description: 'VERP return paths at this domain, whose MX is mailshift\u2019s feedback listener' }), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);

export const InstanceBody = Type.Object(
  {
    name: Type.String(),
    customer: Type.String({ description: 'an existing customer' }),
    productLine: Type.String({ description: productLines.join(' | ') }),
    environment: Type.String({ description: environments.join(' | ') }),
    infrastructure: Type.String({ description: 'an existing infrastructure' }),
    allowFrom: Type.Optional(
      Type.Array(Type.String({ description: 'a CIDR such as 10.0.0.0/24' }), { maxItems: 1000, description: 'networks that may relay without AUTH' }),
    ),
    listUnsubscribe: Type.Optional(Type.Boolean({ description: 'every delivery carries one-click List-Unsubscribe (RFC 8058)' })),
  },
  { additionalProperties: false },
);

export const SuspendBody = Type.Object({ reason: Type.Optional(Type.String({ description: 'default "operator"' })) }, { additionalProperties: false });

const Contact = Type.Object({ email: Type.String(), locale: Type.String(), timezone: Type.String() });

export const Customer = Type.Object({ name: Type.String(), contacts: Type.Array(Contact), createdAt: Timestamp });
export const CustomerList = Type.Object({ customers: Type.Array(Customer) });

export const Infrastructure = Type.Object({
  name: Type.String(),
  deliveryMode: Type.Enum(['relay', 'mx']),
  relays: Type.Array(Type.String({ description: 'HOST:PORT' })),
  sourceAddresses: Type.Array(Type.String()),
  heloName: Type.String(),
  dkim: Type.Array(Type.Object({ domain: Type.String(), selector: Type.String() }), { description: 'the keys\u2019 domains and selectors; never the keys' }),
  shaping: Type.Array(
    Type.Object({
      domain: Type.String(),
      maxConnections: Type.Integer(),
      maxMessagesPerConnection: Type.Integer(),
      rate: Type.Union([Type.String(), Type.Null()]),
      tls: Type.Optional(Type.Enum(tlsPolicies)),
    }),
  ),
  verificationAddress: Type.String(),
  createdAt: Timestamp,
  mxPort: Type.Union([Type.Integer(), Type.Null()], { description: 'null: 25' }),
  tls: Type.Enum(tlsPolicies),
  relayTransport: Type.Array(
    Type.Object({
      relay: Type.String({ description: 'HOST:PORT' }),
      secure: Type.Boolean({ description: 'implicit TLS (port 465)' }),
      user: Type.Union([Type.String(), Type.Null()], { description: 'the AUTH login, or null' }),
      passwordSet: Type.Boolean({ description: 'a password is stored (sealed); it is never shown' }),
    }),
    { description: 'per relay, in the order of `relays`' },
  ),
  mtaSts: Type.Boolean({ description: 'MTA-STS policies are enforced' }),
  unverifiedFrom: Type.Enum(['unsigned', 'refuse'], { description: 'what mail from a domain its customer has not verified gets' }),
  spfInclude: Type.Union([Type.String(), Type.Null()]),
  bounceDomain: Type.Union([Type.String(), Type.Null()], { description: 'VERP return paths at this domain; null: the message\u2019s own sender' }),
});
export const InfrastructureList = Type.Object({ infrastructures: Type.Array(Infrastructure) });

const nullableTimestamp = Type.Union([Timestamp, Type.Null()]);

const instanceFields = {
  name: Type.String(),
  customer: Type.String(),
  productLine: Type.Enum(productLines),
  environment: Type.Enum(environments),
  infrastructure: Type.String({ description: 'where it sends now' }),
  suspended: Type.Boolean(),
  suspendedAt: nullableTimestamp,
  suspendedReason: Type.Union([Type.String(), Type.Null()]),
  allowFrom: Type.Array(Type.String()),
  system: Type.Boolean({ description: 'mailshift\u2019s own sender of notices, never part of an upgrade program' }),
  createdAt: Timestamp,
  queue: Type.Optional(QueueCounts),
  listUnsubscribe: Type.Boolean({ description: 'every delivery carries one-click List-Unsubscribe' }),
};

export const Instance = Type.Object(instanceFields);
export const InstanceList = Type.Object({ instances: Type.Array(Instance) });

export const InstanceCreated = Type.Object({
  instance: Instance,
  credentials: Type.Object(
    { smtp: Type.Object({ username: Type.String(), password: Type.String() }), apiKey: Type.String() },
    { description: 'shown only here, once' },
  ),
});

export const EventRow = Type.Object({
  id: Type.Integer(),
  instanceId: Type.Integer(),
  messageId: Type.Union([Type.String(), Type.Null()]),
  deliveryId: Type.Union([Type.Integer(), Type.Null()]),
  type: Type.String(),
  recipient: Type.Union([Type.String(), Type.Null()]),
  at: Timestamp,
  detail: Type.Record(Type.String(), Type.Unknown(), { description: 'what the event records; depends on its type' }),
});

export const InstanceDetail = Type.Object({ ...instanceFields, recentEvents: Type.Array(EventRow, { description: 'the latest 50, newest first' }) });

export const Suspended = Type.Object({ instance: Type.String(), suspended: Type.Literal(true), since: nullableTimestamp, alreadySuspended: Type.Boolean() });

export const Resumed = Type.Object({
  instance: Type.String(),
  suspended: Type.Literal(false),
  heldMs: Type.Number({ description: 'how long sending was held' }),
  released: Type.Integer({ description: 'deliveries released' }),
  wasSuspended: Type.Optional(Type.Literal(false, { description: 'present when it was not suspended' })),
});

export type CustomerBody = Static<typeof CustomerBody>;
export type InfrastructureBody = Static<typeof InfrastructureBody>;
export type InstanceBody = Static<typeof InstanceBody>;
export type Customer = Static<typeof Customer>;
export type Infrastructure = Static<typeof Infrastructure>;
export type InfrastructureList = Static<typeof InfrastructureList>;
export type CustomerList = Static<typeof CustomerList>;
export type Instance = Static<typeof Instance>;
export type InstanceList = Static<typeof InstanceList>;
export type InstanceCreated = Static<typeof InstanceCreated>;
export type InstanceDetail = Static<typeof InstanceDetail>;
export type EventRow = Static<typeof EventRow>;
export type Suspended = Static<typeof Suspended>;
export type Resumed = Static<typeof Resumed>;
