import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { domainOf } from '../core/fleet/fleet-input.ts';
import type { RetryPolicy } from '../core/delivery/retry-schedule.ts';
import { checkBody, checkMessage, headerValue, isTraceField, type HeaderField } from '../core/spool/message-check.ts';
import { newMessageId } from '../core/spool/message-id.ts';
import { GroupCommit } from '../spool/group-commit.ts';
import { withReasons, type NewMessage, type SpoolRepository } from '../store/spool-repository.ts';
import type { SuppressionRepository } from '../store/suppression-repository.ts';
import type { Metrics } from '../metrics.ts';
import type { FleetNames } from './fleet-names.ts';
import { asciiAddress } from './idn-address.ts';

export interface Submission {
  instance: Instance;
  /** Envelope sender; '' for the null sender. */
  mailFrom: string;
  recipients: string[];
  raw: Buffer;
  /** One-click List-Unsubscribe on each delivery, beyond the instance's own choice (an API message's). */
  listUnsubscribe?: boolean;
}

export interface Accepted {
  messageId: string;
  recipients: number;
  /** Empty where the look-up was left to the commit (SMTP, whose answer never names them). */
  suppressed: string[];
}

/** Recipients one message may have, at both doors. */
export const maxRecipientsPerMessage = 1000;

export type Via = 'smtp' | 'http';

export interface IdempotencyClaim {
  key: string;
  requestHash: string;
}

export interface AcceptOptions {
  retry: RetryPolicy;
  hostname: string;
  maxMessageBytes: number;
  maxRecipients: number;
  /**
   * Group commits written at once (default 2): with two, one batch is written while the one
   * before it waits for the disk. SQLite writes one at a time on one connection anyway, so
   * a second batch gains little there and makes batches smaller: one at a time, messages
   * that arrive during an fsync all join the next commit.
   */
  commitsInFlight?: number;
}

/**
 * The one door into the spool for SMTP and HTTP alike: validates, then answers only once
 * the message is committed durably.
 */
export class AcceptService {
  private readonly writer: GroupCommit<NewMessage>;
  /** Suppression look-ups of this tick, made together (see suppressed). */
  private lookups: { instanceId: number; addresses: string[]; resolve(found: Map<string, string>): void; reject(err: unknown): void }[] = [];

  constructor(
    private readonly spool: Pick<SpoolRepository, 'commit'>,
    private readonly suppressions: SuppressionRepository,
    private readonly clock: Clock,
    private readonly options: AcceptOptions,
    private readonly metrics: Metrics,
    private readonly names: FleetNames,
    /** Told of every committed message (the delivery engine warms its cache and wakes). */
    private readonly onAccepted: (messages: readonly NewMessage[]) => void,
    /** Refuses a From the instance may not send as, where its infrastructure says so. */
    private readonly senders?: { checkFrom(instance: Instance, raw: Buffer): Promise<void> },
  ) {
    this.writer = new GroupCommit(
      (batch) => this.spool.commit(batch, this.clock.now(), this.clock.now() + this.options.retry.maxAgeMs),
      500,
      0,
      this.options.commitsInFlight ?? 2,
    );
  }

  /**
   * Accepts one message, answering once it is durable. With an idempotency claim, the
   * response (made from the message before commit) is stored in the same transaction.
   */
  async accept(submission: Submission, via: Via, idempotency?: IdempotencyClaim, respond?: (a: Accepted) => unknown): Promise<Accepted> {
    // SMTP's answer never names suppressed recipients: the commit looks them up as it writes.
    const message = await this.prepare(submission, via === 'smtp' && !idempotency ? 'at-commit' : undefined);
    if (idempotency) message.idempotency = { ...idempotency, response: JSON.stringify(respond ? respond(summary(message)) : summary(message)) };
    await this.writer.submit(message);
    await this.accepted(submission.instance, via, [message]);
    return summary(message);
  }

  /**
   * Accepts many messages in one transaction: all or none, so an idempotent batch retried
   * after a failure never sends half of itself twice.
   */
  async acceptAll(submissions: Submission[], via: Via, idempotency?: IdempotencyClaim, respond?: (a: Accepted[]) => unknown): Promise<Accepted[]> {
    const messages: NewMessage[] = [];
    // One after another, each with its own look-up: sharing a tick's look-up would hold each
    // of a large batch's messages for a turn of the event loop.
    for (const s of submissions) messages.push(await this.prepare(s, (id, addresses) => this.suppressions.matching(id, addresses)));
    const accepted = messages.map(summary);
    if (idempotency && messages.length > 0) {
      messages[0].idempotency = { ...idempotency, response: JSON.stringify(respond ? respond(accepted) : accepted) };
    }
    const now = this.clock.now();
    await this.spool.commit(messages, now, now + this.options.retry.maxAgeMs);
    if (submissions.length > 0) await this.accepted(submissions[0].instance, via, messages);
    return accepted;
  }

  /** After the commit nothing may fail the reply: the message is accepted whatever happens here. */
  private async accepted(instance: Instance, via: Via, messages: readonly NewMessage[]): Promise<void> {
    try {
      this.onAccepted(messages);
      const infrastructure = await this.names.infrastructure(instance.infrastructureId);
      this.metrics.accepted.inc({ instance: instance.name, infrastructure, via }, messages.length);
    } catch {
      // Metrics and the engine's wake-up are conveniences; the next poll finds the mail.
    }
  }

  private async prepare(
    s: Submission,
    suppressedOf: 'at-commit' | ((instanceId: number, addresses: string[]) => Promise<Map<string, string>>) = (id, addresses) => this.suppressed(id, addresses),
  ): Promise<NewMessage> {
    if (s.raw.length > this.options.maxMessageBytes) {
      throw new DomainError('message-too-large', `message is ${s.raw.length} bytes; the limit is ${this.options.maxMessageBytes}`);
    }
    let mailFrom = '';
    if (s.mailFrom !== '') {
      const from = asciiAddress(s.mailFrom);
      if (!from.ok) throw new DomainError('invalid-address', `sender: ${from.error.detail}`);
      mailFrom = from.value;
    }
    if (s.recipients.length === 0) throw new DomainError('no-recipients', 'the message has no recipients');
    if (s.recipients.length > this.options.maxRecipients) {
      throw new DomainError('too-many-recipients', `at most ${this.options.maxRecipients} recipients per message`);
    }
    // Stored and sent with A-label domains; duplicates (in either form) count once.
    const recipients = new Map<string, { address: string; given: string }>();
    for (const r of s.recipients) {
      const v = asciiAddress(r);
      if (!v.ok) throw new DomainError('invalid-address', `recipient: ${v.error.detail}`);
      if (!recipients.has(v.value.toLowerCase())) recipients.set(v.value.toLowerCase(), { address: v.value, given: r });
    }
    const checked = checkMessage(s.raw);
    if (!checked.ok) throw new DomainError(checked.error.code, checked.error.detail);
    const body = checkBody(s.raw, checked.value.headerEnd);
    if (!body.ok) throw new DomainError(body.error.code, body.error.detail);
    await this.senders?.checkFrom(s.instance, s.raw);
    const now = this.clock.now();
    const id = newMessageId(now, () => randomBytes(8).toString('hex'));
    // Like a submission server, add what receivers require but clients often omit.
    const added: string[] = [];
    let headerMessageId = headerValue(checked.value.headers, 'message-id') || null;
    if (!headerMessageId) {
      headerMessageId = `<${id}@${this.options.hostname}>`;
      added.push(`Message-ID: ${headerMessageId}`);
    }
    if (!headerValue(checked.value.headers, 'date')) added.push(`Date: ${new Date(now).toUTCString().replace('GMT', '+0000')}`);
    const raw = storedRaw(s.raw, checked.value.headers, added);
    const unique = [...recipients.values()];
    textSafe(mailFrom, headerMessageId, ...unique.flatMap((r) => [r.address, r.given]));
    const message = {
      id,
      instanceId: s.instance.id,
      mailFrom,
      raw,
      headerMessageId,
      listUnsubscribe: s.listUnsubscribe === true || s.instance.listUnsubscribe === true,
    };
    const rows: NewMessage['recipients'] = unique.map((r) => ({
      address: r.address,
      domain: domainOf(r.address),
      suppressed: null,
      ...(r.given !== r.address ? { given: r.given } : {}),
    }));
    if (suppressedOf === 'at-commit') return { ...message, recipients: rows, suppressionsUnchecked: true };
    // A suppression may have been written in either form (bounces store the A-label one).
    const reasons = await suppressedOf(
      s.instance.id,
      unique.flatMap((r) => [r.address, r.given]),
    );
    return { ...message, recipients: withReasons(rows, reasons) };
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * The recipients' suppressions, asked for with every other message of the same tick in
   * one statement: on PostgreSQL a statement per message was a round trip per message.
   */
  private suppressed(instanceId: number, addresses: string[]): Promise<Map<string, string>> {
    return new Promise((resolve, reject) => {
      this.lookups.push({ instanceId, addresses, resolve, reject });
      if (this.lookups.length === 1) setImmediate(() => this.lookUp());
    });
  }

  private lookUp(): void {
    const asks = this.lookups.splice(0);
    this.suppressions.matchingMany(asks).then(
      (found) => {
        for (const ask of asks) ask.resolve(found.get(ask.instanceId) ?? new Map());
      },
      (err) => {
        for (const ask of asks) ask.reject(err);
      },
    );
  }
}

/**
 * The message as stored: the fields mailshift adds first, then the tenant's header block
 * without trace fields (see traceFields for which and why) or an empty Message-ID (one is
 * added), then the body untouched. The original buffer is kept when nothing changes.
 */
function storedRaw(raw: Buffer, headers: readonly HeaderField[], added: string[]): Buffer {
  const dropped = headers.filter((h) => isTraceField(h.name) || (h.value === '' && h.name.toLowerCase() === 'message-id'));
  if (dropped.length === 0 && added.length === 0) return raw;
  const parts: Buffer[] = added.length > 0 ? [Buffer.from(added.join('\r\n') + '\r\n')] : [];
  let at = 0;
  for (const field of dropped) {
    parts.push(raw.subarray(at, field.start));
    at = field.end;
  }
  parts.push(raw.subarray(at));
  return Buffer.concat(parts);
}

/**
 * Everything here lands in a text column, and PostgreSQL refuses NUL there: a failed
 * insert would fail the whole group commit (every tenant's mail in it) and answer 451
 * forever. Validation already excludes NUL; this keeps it so if a check ever changes.
 */
function textSafe(...values: (string | null)[]): void {
  for (const v of values) {
    if (v !== null && v.includes('\0')) throw new DomainError('malformed-message', 'the envelope or Message-ID contains a NUL byte');
  }
}

function summary(m: NewMessage): Accepted {
  return {
    messageId: m.id,
    recipients: m.recipients.length,
    suppressed: m.recipients.filter((r) => r.suppressed).map((r) => r.address),
  };
}
