import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { parseWebhookUrl, urlHost } from '../core/net/webhook-url.ts';
import type { EventRepository } from '../store/event-repository.ts';
import type { Webhook, WebhookRepository } from '../store/webhook-repository.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { PostOutcome, WebhookTargets } from './webhook-target.ts';

export interface WebhookSenderOptions {
  pollMs: number;
  batchSize: number;
  timeoutMs: number;
  /** After this many failed tries a batch is dropped so one bad batch cannot stall a webhook forever. */
  maxFailures: number;
  /** Batches posted at once across all webhooks; the rest wait for a later poll. */
  maxConcurrent: number;
}

export const defaultWebhookOptions: WebhookSenderOptions = { pollMs: 1000, batchSize: 100, timeoutMs: 10_000, maxFailures: 15, maxConcurrent: 50 };

/**
 * What a tenant reads as `lastError`, whatever went wrong: telling a refused connection
 * from a timeout or an HTTP status would let a webhook scan ports. The detail goes to the
 * operator's log.
 */
export const webhookFailureText = 'the endpoint did not accept the events';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as receivers verify it. */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Posts each instance's events to its webhooks in order, retrying with backoff. It reads
 * the event log behind a cursor, so a slow or dead endpoint never holds up delivery.
 */
export class WebhookSender {
  private readonly task: PeriodicTask;
  private readonly busy = new Set<number>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly eventLog: Pick<EventRepository, 'eventsAfter'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly targets: WebhookTargets,
    private readonly options: WebhookSenderOptions = defaultWebhookOptions,
  ) {
    this.task = new PeriodicTask(() => this.poll(), log, { name: 'polling webhooks', intervalMs: options.pollMs, firstRunMs: options.pollMs });
  }

  start(): void {
    this.task.start();
  }

  /** No poll after this; waits for the poll and the batches in progress. */
  async stop(): Promise<void> {
    await this.task.stop();
    await this.settled();
  }

  /** Resolves when every batch started so far has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  async poll(): Promise<void> {
    let hooks: Webhook[];
    try {
      hooks = await this.webhooks.list();
    } catch (err) {
      this.log.warn({ err }, 'listing webhooks failed');
      return;
    }
    const now = this.clock.now();
    for (const hook of hooks) {
      if (this.busy.size >= this.options.maxConcurrent) break;
      if (hook.nextAttemptAt > now || this.busy.has(hook.id)) continue;
      this.busy.add(hook.id);
      const run = this.sendBatch(hook)
        .catch((err) => this.log.warn({ err, webhook: hook.id }, 'webhook batch failed'))
        .finally(() => {
          this.busy.delete(hook.id);
          this.inFlight.delete(run);
        });
      this.inFlight.add(run);
    }
  }

  private async sendBatch(hook: Webhook): Promise<void> {
    const fetched = await this.eventLog.eventsAfter(hook.instanceId, hook.cursor, this.options.batchSize);
    // Ids are handed out before commit, so with concurrent writers (PostgreSQL) a lower id
    // can appear after a higher one. Sending only events a second old, and stopping at the
    // first newer one, keeps the cursor from passing an event not yet visible.
    const settled = this.clock.now() - 1000;
    const cut = fetched.findIndex((e) => e.at > settled);
    const events = cut < 0 ? fetched : fetched.slice(0, cut);
    if (events.length === 0) return;
    const body = JSON.stringify({
      webhook: hook.id,
      events: events.map((e) => ({
        id: e.id,
        type: e.type,
        messageId: e.messageId,
        recipient: e.recipient,
        at: new Date(e.at).toISOString(),
        detail: e.detail,
      })),
    });
    const last = events[events.length - 1].id;
    const outcome = await this.deliver(hook, body);
    if (outcome.ok) return this.webhooks.advance(hook.id, last);
    const failures = hook.failures + 1;
    // Which webhook, where and why; never the secret or the body.
    this.log.warn({ webhook: hook.id, instance: hook.instanceId, host: hostOf(hook.url), detail: outcome.detail, failures }, 'webhook post failed');
    if (failures >= this.options.maxFailures) {
      this.log.warn({ webhook: hook.id, instance: hook.instanceId, events: events.length }, 'webhook batch dropped after repeated failures');
      await this.webhooks.advance(hook.id, last);
      return this.webhooks.failed(hook.id, 0, 0, `dropped ${events.length} events: ${webhookFailureText}`);
    }
    const backoff = Math.min(5000 * 2 ** (failures - 1), 3_600_000);
    await this.webhooks.failed(hook.id, failures, this.clock.now() + backoff, webhookFailureText);
  }

  /** Checks the target again at every send (DNS may point elsewhere since creation), then posts to the checked address. */
  private async deliver(hook: Webhook, body: string): Promise<PostOutcome> {
    const url = parseWebhookUrl(hook.url);
    if (!url.ok) return { ok: false, detail: `refused: ${url.error.detail}` };
    const target = await this.targets.check(url.value);
    if (!target.ok) return { ok: false, detail: `refused: ${target.error.detail}` };
    const headers = { 'content-type': 'application/json', 'mailshift-signature': signWebhook(hook.secret, body, Math.floor(this.clock.now() / 1000)) };
    return this.targets.post(target.value, body, headers, this.options.timeoutMs);
  }
}

function hostOf(url: string): string | undefined {
  return URL.canParse(url) ? urlHost(new URL(url)) : undefined;
}
