import type { Liquid, Template } from 'liquidjs';
import { DomainError } from '../core/errors.ts';
import { composeMessage } from './compose.ts';
import { lazily } from './lazily.ts';

/** The template engine (liquidjs, some 14 MB) loads with the first batch, not at start. */
type Templates = typeof import('./batch-template.ts');
const loadTemplates = lazily(() => import('./batch-template.ts'));

export interface BatchRequest {
  from: string;
  subject: string;
  text?: string;
  html?: string;
  headers?: Record<string, string>;
  recipients: { to: string; substitutions?: Record<string, unknown> }[];
}

export const maxBatchRecipients = 10_000;

export interface BatchLimits {
  /** Bytes of composed MIME across the whole batch (MAILSHIFT_BATCH_MAX_BYTES). */
  maxRenderedBytes: number;
  /** Bytes of one composed message. */
  maxMessageBytes: number;
  /** Characters of one template (subject, text or html); parsing is sync, so it stays short. */
  maxTemplateChars: number;
  /** Tags and outputs in one template. */
  maxTemplateTags: number;
  /** Render time of one recipient's subject, text and html together. */
  renderMsPerMessage: number;
  /** Render time of the whole batch, so 10,000 slow-but-legal renders cannot hog a core. */
  renderMsPerBatch: number;
  /** liquidjs allocation budget per render (array items, string characters). */
  memoryPerRender: number;
}

/** A normal recipient renders in well under a millisecond; these leave ample room. */
export const defaultBatchLimits = {
  maxTemplateChars: 4 * 1024 * 1024,
  maxTemplateTags: 5_000,
  // Wall-clock, as liquidjs measures it: room for a cold start on a loaded machine.
  renderMsPerMessage: 250,
  renderMsPerBatch: 60_000,
  // Arrays and strings a render may make: enough for any mail, too little for a range whose
  // sort (a single filter call, which no time limit interrupts) holds the event loop long.
  memoryPerRender: 500_000,
} as const;

export interface ComposedMessage {
  raw: Buffer;
  mailFrom: string;
  recipients: string[];
}

export interface BatchOptions {
  limits: Pick<BatchLimits, 'maxRenderedBytes' | 'maxMessageBytes'> & Partial<BatchLimits>;
  /** Monotonic milliseconds: times the (synchronous) renders, not calendar time. */
  elapsed?: () => number;
  /**
   * Takes memory for each composed message from a budget shared with other submissions;
   * false when none came free in time (the batch is refused as `server-busy`).
   */
  reserve?: (bytes: number) => Promise<boolean>;
  /** True once the client has gone: nobody will read the answer, so the work stops. */
  abandoned?: () => boolean;
}

type Field = 'subject' | 'text' | 'html';

/**
 * One template rendered and composed per recipient, one recipient at a time, yielding to
 * the event loop as it goes: memory stays within the byte cap and other requests are
 * served meanwhile. Any failure refuses the whole batch (nothing is stored until every
 * message is composed).
 */
export async function composeBatch(batch: BatchRequest, options: BatchOptions): Promise<ComposedMessage[]> {
  const limits: BatchLimits = { ...defaultBatchLimits, ...options.limits };
  const elapsed = options.elapsed ?? (() => performance.now());
  if (batch.recipients.length > maxBatchRecipients) {
    throw new DomainError('too-many-recipients', `a batch holds at most ${maxBatchRecipients} recipients`);
  }
  const t = await loadTemplates();
  const { minimumOutputChars, OutputLimitExceeded, renderBounded, rootCause, sandboxedLiquid } = t;
  const engineLimits = { parseChars: limits.maxTemplateChars, memory: limits.memoryPerRender };
  const textEngine = sandboxedLiquid(engineLimits, false);
  const htmlEngine = sandboxedLiquid(engineLimits, true);
  const parts: [Field, Liquid, Template[]][] = [];
  for (const [field, engine, source] of [
    ['subject', textEngine, batch.subject],
    ['text', textEngine, batch.text],
    ['html', htmlEngine, batch.html],
  ] as const) {
    if (source === undefined) continue;
    parts.push([field, engine, parse(t, engine, field, source, limits)]);
    await turn();
  }
  const overCap = (where: string) =>
    new DomainError(
      'template-error',
      `${where}the batch's rendered messages pass the limit of ${limits.maxRenderedBytes} bytes (MAILSHIFT_BATCH_MAX_BYTES); send fewer recipients per batch`,
    );
  const floor = parts.reduce((sum, [, , t]) => sum + minimumOutputChars(t), 0);
  if (floor * batch.recipients.length > limits.maxRenderedBytes) throw overCap('');

  let batchMs = 0;
  /** One recipient's fields, stopped as soon as they pass `room` characters. */
  const render = (i: number, r: BatchRequest['recipients'][number], room: number): Partial<Record<Field, string>> => {
    const scope = { ...(r.substitutions ?? {}), to: r.to };
    const out: Partial<Record<Field, string>> = {};
    let messageChars = 0;
    let messageMs = 0;
    for (const [field, engine, templates] of parts) {
      const where = `recipients[${i}].${field}: `;
      const renderMs = Math.min(limits.renderMsPerMessage - messageMs, limits.renderMsPerBatch - batchMs);
      const batchRoom = room - messageChars;
      const messageRoom = limits.maxMessageBytes - messageChars;
      const started = elapsed();
      try {
        if (renderMs <= 0) throw new Error('template render limit exceeded');
        out[field] = renderBounded(engine, templates, scope, renderMs, Math.min(batchRoom, messageRoom));
      } catch (err) {
        const cause = rootCause(err);
        if (cause instanceof OutputLimitExceeded && batchRoom <= messageRoom) throw overCap(where);
        if (cause instanceof OutputLimitExceeded || (cause instanceof RangeError && /string length/i.test(cause.message))) {
          throw new DomainError('message-too-large', `${where}the rendered message passes the limit of ${limits.maxMessageBytes} bytes`);
        }
        throw renderFailure(t, where, err, limits, batchMs + elapsed() - started >= limits.renderMsPerBatch);
      } finally {
        const ms = elapsed() - started;
        messageMs += ms;
        batchMs += ms;
      }
      // liquidjs checks its time limit only between templates, so one costly filter call
      // (a sort of a large array) can overrun it: such a template is refused at once.
      if (messageMs > limits.renderMsPerMessage) {
        throw new DomainError('template-error', `${where}rendering took ${Math.round(messageMs)} ms; the limit is ${limits.renderMsPerMessage} ms per message`);
      }
      messageChars += out[field]!.length;
    }
    return out;
  };

  // First pass, rendering only: composing is the costly step, so a batch that passes the
  // cap (or fails to render at its last recipient) is refused before any of it is composed.
  let chars = 0;
  let lastYield = elapsed();
  const gone = () => {
    if (options.abandoned?.()) throw new DomainError('unavailable', 'the client closed the connection before the batch was accepted');
  };
  for (const [i, r] of batch.recipients.entries()) {
    const out = render(i, r, limits.maxRenderedBytes - chars);
    chars += (out.subject?.length ?? 0) + (out.text?.length ?? 0) + (out.html?.length ?? 0);
    if (elapsed() - lastYield >= yieldEveryMs) {
      await turn();
      gone();
      lastYield = elapsed();
    }
  }

  // Second pass: render again and compose, holding only composed MIME (within the cap).
  const messages: ComposedMessage[] = [];
  let bytes = 0;
  for (const [i, r] of batch.recipients.entries()) {
    const out = render(i, r, limits.maxRenderedBytes - bytes);
    let composed: ComposedMessage;
    try {
      composed = await composeMessage({ from: batch.from, to: [r.to], subject: out.subject, text: out.text, html: out.html, headers: batch.headers });
    } catch (err) {
      if (err instanceof DomainError) throw new DomainError(err.code, `recipients[${i}]: ${err.detail}`);
      throw err;
    }
    if (composed.raw.length > limits.maxMessageBytes) {
      throw new DomainError('message-too-large', `recipients[${i}]: the message is ${composed.raw.length} bytes; the limit is ${limits.maxMessageBytes}`);
    }
    bytes += composed.raw.length;
    if (bytes > limits.maxRenderedBytes) throw overCap(`recipients[${i}]: `);
    if (options.reserve && !(await options.reserve(composed.raw.length))) {
      throw new DomainError('server-busy', 'too much mail is being received at once; send the batch again shortly');
    }
    messages.push(composed);
    await turn();
    gone();
  }
  return messages;
}

/** Rendering yields at least this often (ms); composing yields after every message. */
const yieldEveryMs = 10;

// A macrotask turn, not a microtask: sockets and timers run in between.
const turn = () => new Promise((resolve) => setImmediate(resolve));

function parse({ tagCount, templateFilesRefused }: Templates, engine: Liquid, field: Field, source: string, limits: BatchLimits): Template[] {
  if (tagCount(source, limits.maxTemplateTags) > limits.maxTemplateTags) {
    throw new DomainError('template-error', `${field}: the template has more than ${limits.maxTemplateTags} tags and outputs`);
  }
  try {
    return engine.parse(source);
  } catch (err) {
    const message = (err as Error).message;
    if (message.startsWith(templateFilesRefused)) throw new DomainError('template-error', `${field}: ${message}`);
    if (message.startsWith('parse length limit exceeded')) {
      throw new DomainError('template-error', `${field}: the template is longer than ${limits.maxTemplateChars} characters`);
    }
    throw new DomainError('template-error', `${field}: ${message}`);
  }
}

function renderFailure({ filterInputRefused, rootCause }: Templates, where: string, err: unknown, limits: BatchLimits, batchTimeSpent: boolean): DomainError {
  const message = String((rootCause(err) as Error)?.message ?? err);
  if (message.startsWith('template render limit exceeded')) {
    return new DomainError(
      'template-error',
      batchTimeSpent
        ? `${where}the batch takes longer to render than the limit of ${limits.renderMsPerBatch} ms`
        : `${where}the template takes longer to render than the limit of ${limits.renderMsPerMessage} ms per recipient`,
    );
  }
  if (message.startsWith('memory alloc limit exceeded')) {
    return new DomainError('template-error', `${where}the template needs more memory than the limit of ${limits.memoryPerRender} items per render`);
  }
  if (message.startsWith(filterInputRefused)) return new DomainError('template-error', `${where}${message}`);
  return new DomainError('template-error', `${where}${(err as Error)?.message ?? message}`);
}
