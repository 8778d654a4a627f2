import { addressesIn, addressIn, fieldValue, parseHeaderBlock } from './field-blocks.ts';
import type { OriginalMessage } from './feedback-report.ts';

/** Reports quote whole messages; only the header section is read, from this much text. */
const maxHeadChars = 64 * 1024;

/** The returned message's headers, from a text/rfc822-headers or message/rfc822 part. */
export function originalFromHeaders(text: string): OriginalMessage | null {
  const fields = parseHeaderBlock(text.slice(0, maxHeadChars));
  if (fields.length === 0) return null;
  const messageId = fieldValue(fields, 'message-id');
  return {
    messageId: messageId === null ? null : (/<[^<>\s]+>/.exec(messageId)?.[0] ?? messageId),
    returnPath: addressIn(fieldValue(fields, 'return-path')),
    from: addressIn(fieldValue(fields, 'from')),
    to: addressesIn(fieldValue(fields, 'to')),
    subject: fieldValue(fields, 'subject'),
    headers: fields,
  };
}

// Where bounces without a MIME part for the original paste its headers into their text.
const quoteMarkers = [
  /^-+ ?Below this line is a copy of the message\.?\s*$/im, // qmail
  /^Original message headers:?\s*$/im, // Exchange
  /^-+ ?(?:Original message(?: headers)?|Undelivered message headers|Original message follows|This is a copy of the message, including all the headers\.) ?-*\s*$/im, // Postfix, Exim, others
];

/** The original's headers quoted inside a bounce's text, when a marker line introduces them. */
export function originalQuotedIn(text: string): OriginalMessage | null {
  for (const marker of quoteMarkers) {
    const m = marker.exec(text);
    if (!m) continue;
    const rest = text.slice(m.index + m[0].length).replace(/^\s*\n/, '');
    const original = originalFromHeaders(rest);
    if (original && (original.messageId || original.returnPath || original.to.length > 0)) return original;
  }
  return null;
}
