import { Liquid } from 'liquidjs';
import { DomainError } from '../core/errors.ts';
import type { JsonMessage } from './compose.ts';

export interface BatchRequest {
  from: string;
  subject: string;
  text?: string;
  html?: string;
  headers?: Record<string, string>;
  recipients: { to: string; substitutions?: Record<string, unknown> }[];
}

export const maxBatchRecipients = 10_000;

const textEngine = new Liquid({ strictFilters: true, ownPropertyOnly: true });
// Substituted values land in HTML escaped, so a recipient's name cannot inject markup.
const htmlEngine = new Liquid({ strictFilters: true, ownPropertyOnly: true, outputEscape: 'escape' });

/** One template, rendered per recipient into ordinary JSON messages. */
export async function renderBatch(batch: BatchRequest): Promise<JsonMessage[]> {
  if (batch.recipients.length > maxBatchRecipients) {
    throw new DomainError('too-many-recipients', `a batch holds at most ${maxBatchRecipients} recipients`);
  }
  const parse = (engine: Liquid, field: string, source: string | undefined) => {
    if (source === undefined) return undefined;
    try {
      return engine.parse(source);
    } catch (err) {
      throw new DomainError('template-error', `${field}: ${(err as Error).message}`);
    }
  };
  const subject = parse(textEngine, 'subject', batch.subject)!;
  const text = parse(textEngine, 'text', batch.text);
  const html = parse(htmlEngine, 'html', batch.html);
  const messages: JsonMessage[] = [];
  for (const [i, r] of batch.recipients.entries()) {
    const scope = { ...(r.substitutions ?? {}), to: r.to };
    try {
      messages.push({
        from: batch.from,
        to: [r.to],
        subject: textEngine.renderSync(subject, scope),
        text: text && textEngine.renderSync(text, scope),
        html: html && htmlEngine.renderSync(html, scope),
        headers: batch.headers,
      });
    } catch (err) {
      throw new DomainError('template-error', `recipients[${i}]: ${(err as Error).message}`);
    }
  }
  return messages;
}
