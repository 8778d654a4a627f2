import type { BounceCategory } from '../delivery/bounce-rules.ts';
import type { NoticeKind } from '../upgrade/notice-kinds.ts';

/**
 * The states a delivery passes through, in the order the operators read them. The store's
 * columns, the queue counts of the API and the console's charts all come from this list.
 */
export const deliveryStates = ['scheduled', 'inflight', 'delivered', 'bounced', 'expired', 'suppressed'] as const;
export type DeliveryState = (typeof deliveryStates)[number];

/** Deliveries per state; every state is present. */
export type DeliveryCounts = Record<DeliveryState, number>;

/** Event types that are a delivery's outcome (or its acceptance): what the delivery timeline counts. */
export const outcomeTypes = ['accepted', 'delivered', 'deferred', 'bounced', 'expired', 'suppressed'] as const;
export type OutcomeType = (typeof outcomeTypes)[number];

/** A count of zero for every key: no state is missing from a count, even when nothing is in it. */
export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

/** What `last_category` of a delivery holds: why its last attempt failed, or that it was suppressed. */
export type DeliveryCategory = BounceCategory | 'suppressed';

/** What mailbox providers and recipients tell after delivery (a `bounced` may come later too, with `async: true`). */
export const feedbackTypes = ['complained', 'unsubscribed'] as const;
export type FeedbackType = (typeof feedbackTypes)[number];

/**
 * Every event type: a delivery's outcome (or acceptance), feedback after it, an upgrade
 * notice sent to the instance's webhooks, or an automatic suspension for reputation.
 */
export type EventType = OutcomeType | FeedbackType | `upgrade.${NoticeKind}` | 'reputation.suspended';
