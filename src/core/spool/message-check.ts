import { fail, ok, type Result } from '../errors.ts';

export interface HeaderField {
  name: string;
  value: string;
}

export interface CheckedMessage {
  headers: HeaderField[];
  /** Byte offset where the header block ends (the body starts after the blank line). */
  headerEnd: number;
}

const fieldName = /^[\x21-\x39\x3b-\x7e]+$/;
const maxHeaderBytes = 256 * 1024;

/**
 * Checks that a message is RFC 5322 shaped enough to relay: a well-formed header block,
 * a blank line before any body, and a From field. Anything else is refused at the door
 * rather than bounced later by a receiver.
 */
export function checkMessage(raw: Uint8Array): Result<CheckedMessage> {
  const limit = Math.min(raw.length, maxHeaderBytes);
  const blank = blankLine(raw, limit);
  if (blank < 0 && raw.length > maxHeaderBytes) return fail('malformed-message', 'header block too long or no blank line between header and body');
  // Only the header block is decoded: a large body is never copied here.
  const headerEnd = blank < 0 ? limit : blank;
  const text = decoder.decode(raw.subarray(0, headerEnd));

  const headers: HeaderField[] = [];
  const lines = text.slice(0, headerEnd).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '' && i === lines.length - 1) break;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (headers.length === 0) return fail('malformed-message', 'message starts with a folded header line');
      headers[headers.length - 1].value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!fieldName.test(name)) {
      return fail('malformed-message', `header line ${i + 1} is not a "Name: value" field: ${JSON.stringify(line.slice(0, 60))}`);
    }
    headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  const from = headers.filter((h) => h.name.toLowerCase() === 'from');
  if (from.length === 0) return fail('malformed-message', 'message has no From header');
  if (from.length > 1) return fail('malformed-message', 'message has more than one From header');
  return ok({ headers, headerEnd });
}

export function headerValue(headers: HeaderField[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

// Header bytes outside ASCII are not interpreted, only carried; a single-byte decoding keeps offsets.
const decoder = new TextDecoder('latin1');

/** Offset of the line break that ends the header block (before an empty line), or -1. */
function blankLine(raw: Uint8Array, limit: number): number {
  for (let i = raw.indexOf(10); i >= 0 && i < limit; i = raw.indexOf(10, i + 1)) {
    const next = raw[i + 1] === 13 ? i + 2 : i + 1;
    if (raw[next] === 10) return raw[i - 1] === 13 ? i - 1 : i;
  }
  return -1;
}
