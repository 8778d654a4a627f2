import { Type, type Static } from 'typebox';
import { customerUpgradeFields } from './upgrade-status.ts';

/**
 * `GET /api/status/v1/:token`: the customer's status page. An allow-list: exactly these
 * fields, built one by one (http/presenters/status-view.ts); anything else is dropped.
 */
export const CustomerInstanceStatus = Type.Object(customerUpgradeFields, { additionalProperties: false });

export const StatusPage = Type.Object(
  {
    customer: Type.String(),
    locale: Type.String({ description: 'of the customer\u2019s first contact; "en" without one' }),
    timezone: Type.String({ description: 'IANA zone of the customer\u2019s first contact; "UTC" without one' }),
    instances: Type.Array(CustomerInstanceStatus),
  },
  { additionalProperties: false },
);

export const StatusTokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });

export type StatusPage = Static<typeof StatusPage>;
export type CustomerInstanceStatus = Static<typeof CustomerInstanceStatus>;
