import type { Infrastructure } from '../core/fleet/fleet.ts';
import type { ClaimedDelivery } from '../store/spool-repository.ts';
import type { UnsubscribeLinks } from './list-unsubscribe.ts';

/**
 * What makes each delivery's envelope and header fields its own: the VERP return path at
 * the infrastructure's bounce domain, and one-click unsubscribe links. Declared here, where
 * the engine uses it; the composition root builds it from the cluster's secret.
 */
export interface DeliveryFeedback {
  /** The envelope sender of this delivery, or null to keep the message's own. */
  returnPath(delivery: ClaimedDelivery, infra: Infrastructure): string | null;
  unsubscribeLinks(delivery: ClaimedDelivery, infra: Infrastructure): UnsubscribeLinks;
}

/** Counts for the reputation rates: deliveries that reached the next hop, and hard bounces among them. */
export interface ReputationTally {
  count(instanceId: number, infrastructureId: number, kind: 'delivered' | 'hardBounced', at: number): void;
}
