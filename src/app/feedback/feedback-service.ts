import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.ts';
import { DomainError } from '../../core/errors.ts';
import type { Infrastructure, Instance } from '../../core/fleet/fleet.ts';
import type { Metrics } from '../../metrics.ts';
import type { FeedbackRecord, FeedbackRepository, FeedbackWrite, ReportedDelivery } from '../../store/feedback-repository.ts';
import { GroupCommit } from '../../spool/group-commit.ts';
import type { ClaimedDelivery } from '../../store/spool-repository.ts';
import type { FeedbackReport, RecipientStatus } from './feedback-report.ts';
import { locateDelivery } from './feedback-recipients.ts';
import type { UnsubscribeTokens } from './unsubscribe-token.ts';
import type { VerpCodec } from './verp.ts';

/** The envelope of one message at the feedback listener (the listener's own type has the same shape). */
export interface ReceivedEnvelope {
  mailFrom: string;
  recipients: string[];
  remoteAddress: string;
  receivedAt: number;
}

export interface FeedbackCodecs {
  /** Return paths: `b-…@<bounce domain>`. */
  verp: VerpCodec;
  /** Unsubscribe mailboxes: `u-…@<bounce domain>`. */
  unsubscribeMail: VerpCodec;
  /** One-click links: `<publicUrl>/u/<token>`. */
  tokens: UnsubscribeTokens;
}

export interface FeedbackOptions {
  publicUrl: string;
  /** Complaint mailboxes besides `fbl@<bounce domain>`. */
  mailboxes: readonly string[];
}

/** Told of each complaint recorded, so the instance's complaint rate is checked at once. */
export type ComplaintListener = (instanceId: number) => Promise<void>;

const complaintTypes = new Set(['abuse', 'fraud']);
/** How long the list of bounce domains is used before it is read again. */
const domainsTtlMs = 5000;

/**
 * Feedback after delivery. For the delivery engine: each delivery's VERP return path and
 * one-click unsubscribe links. For the feedback listener: which recipients are ours, and
 * what a report means — a delivered delivery turned bounced (`async: true`), a complaint,
 * an unsubscribe by mail — with the suppression that follows. For the HTTP door: one-click
 * unsubscribe.
 */
export class FeedbackService {
  private domains: { at: number; set: Set<string> } | null = null;
  /** Reports arriving together over many connections share one transaction (one fsync). */
  private readonly writer: GroupCommit<FeedbackWrite>;

  constructor(
    private readonly store: Pick<FeedbackRepository, 'delivery' | 'write'>,
    private readonly fleet: { bounceDomains(): Promise<string[]>; findInstance(by: { id: number }): Promise<Instance | undefined> },
    private readonly codecs: FeedbackCodecs,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: FeedbackOptions,
    private readonly onComplaint: ComplaintListener = async () => undefined,
  ) {
    this.writer = new GroupCommit((batch) => this.store.write(batch));
  }

  private async commit(write: FeedbackWrite): Promise<boolean> {
    await this.writer.submit(write);
    return write.applied === true;
  }

  private feedback(feedback: FeedbackRecord): Promise<boolean> {
    return this.commit({ kind: 'feedback', feedback });
  }

  // The delivery engine's side.

  returnPath(delivery: Pick<ClaimedDelivery, 'id'>, infra: Infrastructure): string | null {
    return infra.bounceDomain ? this.codecs.verp.encode(delivery.id, infra.bounceDomain) : null;
  }

  unsubscribeLinks(delivery: Pick<ClaimedDelivery, 'id' | 'instanceId' | 'recipient'>, infra: Infrastructure): { url: string; mailto: string | null } {
    const token = this.codecs.tokens.make({ instanceId: delivery.instanceId, deliveryId: delivery.id, recipient: delivery.recipient });
    return {
      url: `${this.options.publicUrl}/u/${token}`,
      mailto: infra.bounceDomain ? this.codecs.unsubscribeMail.encode(delivery.id, infra.bounceDomain) : null,
    };
  }

  // The feedback listener's side.

  /** Mail for a VERP or unsubscribe address at one of our bounce domains, or for a complaint mailbox. */
  async accepts(recipient: string): Promise<boolean> {
    const lower = recipient.toLowerCase();
    if (this.options.mailboxes.includes(lower)) return true;
    const domains = await this.bounceDomains();
    const at = lower.lastIndexOf('@');
    if (at <= 0 || !domains.has(lower.slice(at + 1))) return false;
    if (lower.slice(0, at) === 'fbl') return true;
    return this.codecs.verp.decode(lower).kind === 'ok' || this.codecs.unsubscribeMail.decode(lower).kind === 'ok';
  }

  private async bounceDomains(): Promise<Set<string>> {
    const now = this.clock.now();
    if (!this.domains || now - this.domains.at > domainsTtlMs) this.domains = { at: now, set: new Set(await this.fleet.bounceDomains()) };
    return this.domains.set;
  }

  /** Records what one message at the listener says; throws only when the store fails (the sender retries). */
  async received(report: FeedbackReport, envelope: ReceivedEnvelope): Promise<void> {
    const at = envelope.receivedAt;
    const unsubscribes = envelope.recipients.map((r) => this.codecs.unsubscribeMail.decode(r)).filter((d) => d.kind === 'ok');
    if (unsubscribes.length > 0) {
      // A person asks by mail; a bounce or an automatic reply that lands here asks nothing.
      const asked = envelope.mailFrom !== '' && report.kind !== 'auto-reply' && report.kind !== 'dsn';
      for (const u of unsubscribes) {
        const d = await this.store.delivery(u.deliveryId);
        if (d && asked) await this.unsubscribeDelivery(d, 'mailto', at);
        await this.record('unsubscribe', d, envelope, { via: 'mailto', ...(asked ? {} : { ignored: report.kind }) });
      }
      return;
    }
    const where = locateDelivery(report, envelope.recipients, this.codecs.verp);
    const delivery = where.found ? await this.store.delivery(where.deliveryId) : undefined;
    const detail: Record<string, unknown> = where.found ? { via: where.via } : {};
    // What the report changes is committed with its record, in one batch with other reports.
    let change: FeedbackWrite | null = null;
    if ((report.kind === 'dsn' || report.kind === 'bounce') && delivery) {
      const status = statusFor(report.recipients, delivery.recipient);
      if (status && status.verdict.outcome === 'bounced') {
        const category = status.verdict.category ?? 'other';
        const reply = status.diagnostic ?? (status.status ? `status ${status.status}` : 'failed');
        change = {
          kind: 'bounce',
          bounce: {
            delivery,
            at,
            reply,
            category,
            suppress: status.verdict.hard ? `bounce: ${category}: ${reply}` : null,
            detail: {
              status: status.status,
              format: report.kind === 'dsn' ? 'dsn' : report.format,
              ...(report.kind === 'dsn' ? { reportingMta: report.reportingMta } : {}),
              remoteMta: status.remoteMta,
            },
          },
        };
        Object.assign(detail, { status: status.status, category, hard: status.verdict.hard });
      } else {
        detail.action = status?.action ?? null;
      }
    } else if (report.kind === 'arf') {
      detail.feedbackType = report.feedbackType;
      if (delivery && complaintTypes.has(report.feedbackType)) {
        change = {
          kind: 'feedback',
          feedback: {
            type: 'complained',
            instanceId: delivery.instanceId,
            infrastructureId: delivery.infrastructureId,
            messageId: delivery.messageId,
            deliveryId: delivery.id,
            recipient: delivery.recipient,
            at,
            suppress: `complaint: ${report.feedbackType}${report.userAgent ? ` (${report.userAgent.slice(0, 100)})` : ''}`,
            detail: {
              feedbackType: report.feedbackType,
              userAgent: report.userAgent,
              reportedDomain: report.reportedDomain,
              infrastructureId: delivery.infrastructureId,
            },
          },
        };
      }
    } else if (report.kind === 'unparsed') {
      detail.reason = report.reason;
    } else if (report.kind === 'auto-reply') {
      detail.signal = report.signal;
    }
    await Promise.all([change && this.writer.submit(change), this.record(report.kind, delivery, envelope, detail)]);
    if (change?.kind === 'feedback' && change.applied) await this.complained(change.feedback.instanceId);
  }

  private async complained(instanceId: number): Promise<void> {
    try {
      await this.onComplaint(instanceId);
    } catch (err) {
      // The complaint is recorded; the rate is checked again at the next one.
      this.log.error({ err, instanceId }, 'checking the complaint rate failed');
    }
  }

  private async record(kind: string, delivery: ReportedDelivery | undefined, envelope: ReceivedEnvelope, detail: Record<string, unknown>): Promise<void> {
    this.metrics.feedbackReports.inc({ kind });
    await this.commit({
      kind: 'report',
      report: {
        receivedAt: envelope.receivedAt,
        kind,
        deliveryId: delivery?.id ?? null,
        instanceId: delivery?.instanceId ?? null,
        remoteAddress: envelope.remoteAddress,
        detail,
      },
    });
  }

  // The HTTP door's side.

  /** Who a one-click link unsubscribes (for the confirmation page); not-found for a link that is not ours. */
  async target(token: string): Promise<{ recipient: string; instance: Instance }> {
    const target = this.codecs.tokens.read(token);
    const instance = target ? await this.fleet.findInstance({ id: target.instanceId }) : undefined;
    if (!target || !instance) throw new DomainError('not-found', 'this unsubscribe link is not valid');
    return { recipient: target.recipient, instance };
  }

  /** One-click unsubscribe: the recipient is suppressed for the instance at once. Done twice, it is done once. */
  async unsubscribe(token: string): Promise<{ recipient: string }> {
    const { recipient, instance } = await this.target(token);
    const target = this.codecs.tokens.read(token)!;
    const d = await this.store.delivery(target.deliveryId);
    const delivery: ReportedDelivery =
      d && d.instanceId === instance.id && d.recipient.toLowerCase() === recipient
        ? d
        : { id: -1, messageId: '', instanceId: instance.id, recipient, state: 'delivered', infrastructureId: instance.infrastructureId };
    await this.unsubscribeDelivery(delivery, 'one-click', this.clock.now());
    return { recipient };
  }

  private async unsubscribeDelivery(d: ReportedDelivery, via: 'one-click' | 'mailto', at: number): Promise<void> {
    const known = d.id >= 0;
    await this.feedback({
      type: 'unsubscribed',
      instanceId: d.instanceId,
      infrastructureId: d.infrastructureId,
      messageId: known ? d.messageId : null,
      deliveryId: known ? d.id : null,
      recipient: d.recipient,
      at,
      suppress: `unsubscribed: ${via}`,
      detail: { via, infrastructureId: d.infrastructureId },
    });
  }
}

/** The failed recipient of a report that is the delivery's (a report may list several), else its first one. */
function statusFor(recipients: readonly RecipientStatus[], address: string): RecipientStatus | undefined {
  const lower = address.toLowerCase();
  const mine = recipients.find((r) => r.finalRecipient?.toLowerCase() === lower || r.originalRecipient?.toLowerCase() === lower);
  return mine ?? recipients.find((r) => r.verdict.outcome === 'bounced') ?? recipients[0];
}
