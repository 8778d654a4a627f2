import addressparser from 'nodemailer/lib/addressparser';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { checkMessage, headerValue } from '../core/spool/message-check.ts';
import type { Accepted, AcceptService, Submission } from './accept-service.ts';
import { composeBatch, type BatchRequest } from './batch.ts';
import { composeMessage, type JsonMessage } from './compose.ts';
import type { Answer, Idempotency } from './idempotency.ts';
import type { InflightBudget } from './inflight-budget.ts';

/** One message as the API takes it: JSON fields to compose, or raw MIME with an optional envelope. */
export interface MessageRequest extends Partial<JsonMessage> {
  raw?: string;
  mailFrom?: string;
  recipients?: string[];
  /** One-click List-Unsubscribe on each delivery of this message. */
  listUnsubscribe?: boolean;
}

/** The answer to a message; stored as is with its Idempotency-Key. */
export interface MessageAnswer {
  id: string;
  recipients: number;
  suppressed: string[];
}

/** The answer to a batch; stored as is with its Idempotency-Key. */
export interface BatchAnswer {
  accepted: number;
  messages: { id: string }[];
  suppressed: string[];
}

export interface SubmissionOptions {
  maxMessageBytes: number;
  /** Bytes of composed MIME across one batch. */
  batchMaxRenderedBytes: number;
  /** Batches of one instance composed at once (default 2). */
  maxBatchesPerInstance?: number;
  /** How long a batch waits for memory for each composed message before it is refused (default 2 s). */
  batchReserveWaitMs?: number;
}

/**
 * The instance API's submissions: composes a message or a batch, runs it once per
 * Idempotency-Key and hands it to the AcceptService, which answers once it is durable.
 */
export class SubmissionService {
  /** Batches in progress per instance: rendering and composing are the costly part, so one tenant cannot run any number at once. */
  private readonly batchesInProgress = new Map<number, number>();
  private readonly maxBatches: number;
  private readonly reserveWaitMs: number;

  constructor(
    private readonly acceptor: Pick<AcceptService, 'accept' | 'acceptAll'>,
    private readonly idempotency: Idempotency,
    private readonly inflight: Pick<InflightBudget, 'reserve' | 'release'>,
    private readonly options: SubmissionOptions,
  ) {
    this.maxBatches = options.maxBatchesPerInstance ?? 2;
    this.reserveWaitMs = options.batchReserveWaitMs ?? 2_000;
  }

  async message(instance: Instance, request: MessageRequest, idempotencyKey?: string): Promise<Answer<MessageAnswer>> {
    return this.idempotency.run(instance.id, idempotencyKey, request, async (claim) => {
      const composed = request.raw !== undefined ? rawSubmission(instance, request.raw, request) : await jsonSubmission(instance, request);
      const submission = request.listUnsubscribe === true ? { ...composed, listUnsubscribe: true } : composed;
      return messageAnswer(await this.acceptor.accept(submission, 'http', claim, messageAnswer));
    });
  }

  /** `abandoned` tells when the client has gone: nobody will read the answer, so composing stops. */
  async batch(
    instance: Instance,
    request: BatchRequest,
    idempotencyKey: string | undefined,
    abandoned: () => boolean = () => false,
  ): Promise<Answer<BatchAnswer>> {
    const running = this.batchesInProgress.get(instance.id) ?? 0;
    if (running >= this.maxBatches) {
      throw new DomainError('limit-reached', `an instance may have ${this.maxBatches} batches in progress at once; send this one when one of them is answered`);
    }
    this.batchesInProgress.set(instance.id, running + 1);
    let reserved = 0;
    try {
      return await this.idempotency.run(instance.id, idempotencyKey, request, async (claim) => {
        // Rendered and composed one recipient at a time, within the batch's byte cap; what is
        // composed is held in memory until the commit, so it draws on the shared budget
        // (twice: the spool's copy with the added header fields is made before the commit).
        const composed = await composeBatch(request, {
          limits: { maxRenderedBytes: this.options.batchMaxRenderedBytes, maxMessageBytes: this.options.maxMessageBytes },
          abandoned,
          reserve: async (bytes) => {
            const granted = await this.inflight.reserve(bytes * 2, this.reserveWaitMs);
            if (granted) reserved += bytes * 2;
            return granted;
          },
        });
        const submissions: Submission[] = composed.map((c) => ({ instance, ...c }));
        return batchAnswer(await this.acceptor.acceptAll(submissions, 'http', claim, batchAnswer));
      });
    } finally {
      this.inflight.release(reserved);
      const left = (this.batchesInProgress.get(instance.id) ?? 1) - 1;
      if (left > 0) this.batchesInProgress.set(instance.id, left);
      else this.batchesInProgress.delete(instance.id);
    }
  }
}

function messageAnswer(a: Accepted): MessageAnswer {
  return { id: a.messageId, recipients: a.recipients, suppressed: a.suppressed };
}

function batchAnswer(accepted: Accepted[]): BatchAnswer {
  return {
    accepted: accepted.length,
    messages: accepted.map((a) => ({ id: a.messageId })),
    suppressed: accepted.flatMap((a) => a.suppressed),
  };
}

async function jsonSubmission(instance: Instance, request: MessageRequest): Promise<Submission> {
  const { from } = request;
  if (typeof from !== 'string') throw new DomainError('invalid-request', 'from is required');
  const { listUnsubscribe: _, ...fields } = request;
  const composed = await composeMessage({ ...fields, from });
  return { instance, mailFrom: composed.mailFrom, recipients: composed.recipients, raw: composed.raw };
}

/** Raw MIME: the envelope comes from the fields given, else from the message's own headers. */
function rawSubmission(instance: Instance, text: string, envelope: { mailFrom?: string; recipients?: string[] }): Submission {
  const raw = Buffer.from(text, 'utf8');
  const checked = checkMessage(raw);
  if (!checked.ok) throw new DomainError(checked.error.code, checked.error.detail);
  const addresses = (name: string) =>
    (addressparser(headerValue(checked.value.headers, name) ?? '', { flatten: true }) as { address: string }[]).map((a) => a.address).filter(Boolean);
  const recipients = envelope.recipients ?? [...addresses('to'), ...addresses('cc')];
  const mailFrom = envelope.mailFrom ?? addresses('from')[0] ?? '';
  return { instance, mailFrom, recipients, raw };
}
