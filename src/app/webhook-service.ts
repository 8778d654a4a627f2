import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { DomainError, type Result } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { parseWebhookUrl } from '../core/net/webhook-url.ts';

export interface Webhook {
  id: number;
  instanceId: number;
  url: string;
  failures: number;
  lastError: string | null;
}

/** What the service needs of the webhook store. */
export interface WebhookStore {
  list(instanceId: number): Promise<Webhook[]>;
  /** Creates the webhook unless the instance already has `limit` (concurrent creates count one after another). */
  createLimited(
    limit: number,
    instanceId: number,
    url: string,
    secret: string,
    startAfterEventId: number,
    now: number,
  ): Promise<{ kind: 'created'; webhook: { id: number } } | { kind: 'limit-reached' }>;
  remove(id: number): Promise<boolean>;
  lastEventId(): Promise<number>;
}

/** Whether a URL may be posted to: resolved, and refused when it points inward (the sender's WebhookTargets). */
export interface WebhookTargetCheck {
  check(url: URL): Promise<Result<unknown>>;
}

/**
 * An instance's webhooks. Each gets its own signing secret, shown once at creation. A
 * target must be reachable on the public Internet (or in a network the operator allowed);
 * the sender checks it again at every send.
 */
export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly targets: WebhookTargetCheck,
    private readonly clock: Clock,
    private readonly options: { maxPerInstance: number },
  ) {}

  list(instance: Instance): Promise<Webhook[]> {
    return this.store.list(instance.id);
  }

  async create(instance: Instance, text: string): Promise<{ id: number; url: string; secret: string }> {
    const parsed = parseWebhookUrl(text);
    if (!parsed.ok) throw new DomainError(parsed.error.code, parsed.error.detail);
    const target = await this.targets.check(parsed.value);
    if (!target.ok) throw new DomainError(target.error.code, target.error.detail);
    const url = parsed.value.href;
    const secret = randomBytes(24).toString('base64url');
    const limit = this.options.maxPerInstance;
    // Events from now on: a new endpoint is not flooded with history.
    const created = await this.store.createLimited(limit, instance.id, url, secret, await this.store.lastEventId(), this.clock.now());
    if (created.kind === 'limit-reached')
      throw new DomainError('limit-reached', `an instance may have at most ${limit} webhooks; delete one before adding another`);
    return { id: created.webhook.id, url, secret };
  }

  /** Another instance's webhook is `not-found` as far as this instance can tell. */
  async remove(instance: Instance, id: number): Promise<void> {
    const own = (await this.store.list(instance.id)).some((h) => h.id === id);
    if (!own || !(await this.store.remove(id))) throw new DomainError('not-found', `no webhook ${id}`);
  }
}
