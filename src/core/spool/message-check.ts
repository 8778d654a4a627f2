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
  const text = latin1(raw.subarray(0, Math.min(raw.length, maxHeaderBytes)));
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  let headerEnd: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) headerEnd = crlf;
  else if (lf >= 0) headerEnd = lf;
  else if (raw.length <= maxHeaderBytes) headerEnd = text.length;
  else return fail('malformed-message', 'header block too long or no blank line between header and body');

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

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}
