import type { BounceRule } from '../../core/delivery/bounce-rules.ts';
import { addressIn, fieldValue, fieldValues, parseFieldBlocks, typedValue, type Field } from './field-blocks.ts';
import type { ArfReport, DsnReport, OriginalMessage, RecipientStatus } from './feedback-report.ts';
import { dsnAction, verdictFor } from './recipient-verdict.ts';

/**
 * The machine-readable parts of multipart/report messages: RFC 3464's
 * message/delivery-status (and RFC 6533's message/global-delivery-status) and RFC 5965's
 * message/feedback-report. Null when the part holds nothing usable.
 */
export function readDeliveryStatus(text: string, original: OriginalMessage | null, rules?: readonly BounceRule[]): DsnReport | null {
  const blocks = parseFieldBlocks(text);
  if (blocks.length === 0) return null;
  // Some MTAs leave out the blank line after the per-message fields.
  const isRecipient = (b: Field[]) => b.some((f) => f.name === 'final-recipient' || f.name === 'action');
  const perMessage = isRecipient(blocks[0]) ? [] : blocks[0];
  const recipients = blocks
    .filter(isRecipient)
    .slice(0, 1000)
    .map((b) => recipientOf(b, rules));
  if (recipients.length === 0) return null;
  return {
    kind: 'dsn',
    reportingMta: mtaName(fieldValue(perMessage, 'reporting-mta') ?? fieldValue(blocks[0], 'reporting-mta')),
    arrivalDate: fieldValue(perMessage, 'arrival-date'),
    fields: perMessage,
    recipients,
    original,
  };
}

function recipientOf(block: Field[], rules?: readonly BounceRule[]): RecipientStatus {
  const action = dsnAction(fieldValue(block, 'action'));
  const status = /^\s*([245]\.\d{1,3}\.\d{1,3})\b/.exec(fieldValue(block, 'status') ?? '')?.[1] ?? null;
  const diagnosticField = fieldValue(block, 'diagnostic-code');
  const diagnostic = diagnosticField === null ? null : typedValue(diagnosticField);
  const text = diagnostic?.value || null;
  return {
    finalRecipient: addressIn(fieldValue(block, 'final-recipient')),
    originalRecipient: addressIn(fieldValue(block, 'original-recipient')),
    action,
    status,
    diagnostic: text,
    diagnosticType: diagnostic?.type ?? null,
    remoteMta: mtaName(fieldValue(block, 'remote-mta')),
    verdict: verdictFor(action, status, text, rules),
  };
}

/** `dns; mx.example.org` → `mx.example.org`. */
function mtaName(text: string | null): string | null {
  return text === null ? null : typedValue(text).value || null;
}

export function readFeedbackReport(text: string, original: OriginalMessage | null): ArfReport | null {
  const fields = parseFieldBlocks(text, { maxBlocks: 1 })[0] ?? [];
  const feedbackType = fieldValue(fields, 'feedback-type');
  if (feedbackType === null) return null;
  return {
    kind: 'arf',
    feedbackType: feedbackType.toLowerCase().split(/[\s;]/)[0],
    userAgent: fieldValue(fields, 'user-agent'),
    version: fieldValue(fields, 'version'),
    originalMailFrom: addressIn(fieldValue(fields, 'original-mail-from')),
    originalRcptTo: fieldValues(fields, 'original-rcpt-to')
      .map(addressIn)
      .filter((a): a is string => a !== null),
    arrivalDate: fieldValue(fields, 'arrival-date') ?? fieldValue(fields, 'received-date'),
    sourceIp: fieldValue(fields, 'source-ip'),
    reportedDomain: fieldValue(fields, 'reported-domain'),
    fields,
    original,
  };
}
