import { Type, type Static } from 'typebox';
import { maxWebhookUrlLength } from '../../core/net/webhook-url.ts';

export const WebhookBody = Type.Object(
  { url: Type.String({ maxLength: maxWebhookUrlLength, description: 'http(s), resolving to public Internet addresses' }) },
  { additionalProperties: false },
);

export const WebhookCreated = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  secret: Type.String({ description: 'the signing secret: shown only here, once' }),
});

export const WebhookList = Type.Object({
  webhooks: Type.Array(
    Type.Object({
      id: Type.Integer(),
      url: Type.String(),
      failures: Type.Integer({ description: 'failed posts in a row' }),
      lastError: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export const WebhookIdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export type WebhookList = Static<typeof WebhookList>;
export type WebhookCreated = Static<typeof WebhookCreated>;
