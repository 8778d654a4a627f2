import type { Attachment, ParsedMail } from 'mailparser';
import { lazily } from '../lazily.ts';
import type { BounceRule } from '../../core/delivery/bounce-rules.ts';
import { autoReplySignal } from './auto-reply.ts';
import { fieldValue, parseHeaderBlock, type Field } from './field-blocks.ts';
import type { BounceReport, FeedbackReport, OriginalMessage } from './feedback-report.ts';
import { readNonStandardBounce } from './non-standard-bounce.ts';
import { originalFromHeaders, originalQuotedIn } from './original-message.ts';
import { readDeliveryStatus, readFeedbackReport } from './report-parts.ts';
import { verdictFor } from './recipient-verdict.ts';

export interface ParseOptions {
  /** The operator's bounce rules (MAILSHIFT_BOUNCE_RULES); the built-in ones by default. */
  rules?: readonly BounceRule[];
}

const deliveryStatusTypes = new Set(['message/delivery-status', 'message/global-delivery-status']);
const originalTypes = new Set(['text/rfc822-headers', 'message/rfc822', 'message/global', 'message/global-headers']);

// mailparser's limits, tightened: a report needs a handful of parts, and HTML-to-text of a
// huge hostile body is the costliest thing it does.
const parserOptions = {
  keepDeliveryStatus: true,
  // The returned original stays one opaque part: its headers are all we read, and a
  // bounce of a bounce must not be taken for the outer report.
  ignoreEmbedded: true,
  skipTextToHtml: true,
  skipImageLinks: true,
  skipTextLinks: true,
  checksumAlgo: false,
  maxHtmlLengthToParse: 256 * 1024,
  maxHeadSize: 256 * 1024,
  maxChildNodes: 100,
} as const;

/** mailparser (some 25 MB of a node's memory) loads with the first report, not at start. */
const mailparser = lazily(() => import('mailparser'));

/**
 * Reads one inbound message of the feedback listener: an RFC 5965 feedback report, an
 * RFC 3464 DSN, a bounce without a status part, an automatic reply, or `unparsed`.
 * Never throws: the input is whatever a stranger sent.
 */
export async function parseFeedback(raw: Buffer, options: ParseOptions = {}): Promise<FeedbackReport> {
  let mail: ParsedMail;
  try {
    mail = await (await mailparser()).simpleParser(raw, parserOptions);
  } catch (err) {
    return { kind: 'unparsed', reason: `unreadable MIME: ${reason(err)}` };
  }
  try {
    return classify(mail, options);
  } catch (err) {
    // A bug of ours must not lose the report: it is kept as unparsed, with the reason.
    return { kind: 'unparsed', reason: `parser failure: ${reason(err)}` };
  }
}

function classify(mail: ParsedMail, options: ParseOptions): FeedbackReport {
  const parts = mail.attachments ?? [];
  const original = originalOf(parts);
  const headers = topHeaders(mail);
  const subject = mail.subject ?? null;

  const feedback = parts.find((p) => p.contentType === 'message/feedback-report');
  if (feedback) {
    const arf = readFeedbackReport(textOf(feedback), original);
    if (arf) return arf;
  }
  const status = parts.find((p) => deliveryStatusTypes.has(p.contentType));
  if (status) {
    const dsn = readDeliveryStatus(textOf(status), original, options.rules);
    if (dsn) return dsn;
  }
  const text = mail.text ?? '';
  const bounce = readNonStandardBounce({ text, subject, from: mail.from?.value[0]?.address ?? null, headers });
  if (bounce) {
    const report: BounceReport = {
      kind: 'bounce',
      format: bounce.format,
      recipients: bounce.recipients.map((r) => ({
        finalRecipient: r.address,
        originalRecipient: null,
        action: r.action,
        status: null,
        diagnostic: r.diagnostic,
        diagnosticType: null,
        remoteMta: null,
        verdict: verdictFor(r.action, null, r.diagnostic, options.rules),
      })),
      original: original ?? originalQuotedIn(text),
    };
    return report;
  }
  const signal = autoReplySignal(headers, subject);
  if (signal) {
    return { kind: 'auto-reply', signal, from: mail.from?.value[0]?.address ?? null, subject, inReplyTo: fieldValue(headers, 'in-reply-to') };
  }
  if (status) return { kind: 'unparsed', reason: 'delivery-status part without recipient fields' };
  if (feedback) return { kind: 'unparsed', reason: 'feedback-report part without Feedback-Type' };
  return { kind: 'unparsed', reason: headers.length === 0 ? 'no header fields' : 'not a report, bounce or automatic reply' };
}

function originalOf(parts: Attachment[]): OriginalMessage | null {
  const part = parts.find((p) => originalTypes.has(p.contentType));
  return part ? originalFromHeaders(textOf(part)) : null;
}

function topHeaders(mail: ParsedMail): Field[] {
  return parseHeaderBlock((mail.headerLines ?? []).map((h) => h.line).join('\n'), 300);
}

function textOf(part: Attachment): string {
  return part.content.subarray(0, 1024 * 1024).toString('utf8');
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}
