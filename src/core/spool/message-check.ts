import { fail, ok, type Result } from '../errors.ts';

export interface HeaderField {
  name: string;
  value: string;
  /** Byte offsets of the whole field in the message: its first line to the end of its last line break. */
  start: number;
  end: number;
}

export interface CheckedMessage {
  headers: HeaderField[];
  /** Byte offset where the header block ends (the body starts after the blank line). */
  headerEnd: number;
}

const fieldName = /^[\x21-\x39\x3b-\x7e]+$/;
// C0 controls and DEL, tab excepted; CR and LF only survive as line ends, so one left inside a line is bare.
const control = /[\x00-\x08\x0a-\x1f\x7f]/;
const maxHeaderBytes = 256 * 1024;

/**
 * Trace and authentication fields: written by the MTAs a message passes through and by
 * receivers' verifiers, never by its author. A tenant's copy would forge the path
 * (Received, Return-Path, Delivered-To and the other delivery-agent fields, which
 * receivers also use for loop detection) or vouch for mail it did not authenticate
 * (Authentication-Results, Received-SPF, ARC, and DKIM or DomainKey signatures that may be
 * replays of another sender's). mailshift signs with the infrastructure's DKIM keys at send
 * time, so a tenant that wants its own domain signed configures the key there. The JSON
 * API refuses these names; raw MIME and SMTP submissions have them removed.
 */
export const traceFields: ReadonlySet<string> = new Set([
  'received',
  'return-path',
  'delivered-to',
  'x-original-to',
  'envelope-to',
  'x-envelope-to',
  'x-envelope-from',
  'dkim-signature',
  'domainkey-signature',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
  'authentication-results',
  'received-spf',
]);

export function isTraceField(name: string): boolean {
  return traceFields.has(name.toLowerCase());
}

/**
 * Checks that a message is RFC 5322 shaped enough to relay: a well-formed header block
 * free of NUL and control characters, a blank line before any body, and a From field.
 * Anything else is refused at the door rather than bounced later by a receiver (or
 * failing the store: PostgreSQL text refuses NUL).
 */
export function checkMessage(raw: Uint8Array): Result<CheckedMessage> {
  const limit = Math.min(raw.length, maxHeaderBytes);
  const blank = blankLine(raw, limit);
  if (blank < 0 && raw.length > maxHeaderBytes) return fail('malformed-message', 'header block too long or no blank line between header and body');
  // Only the header block is decoded: a large body is never copied here. The decoded text
  // runs through the last field's line break, so each field's span includes its own.
  const headerEnd = blank < 0 ? limit : blank;
  const blockEnd = blank < 0 ? limit : headerEnd === 0 ? 0 : blank + (raw[blank] === 13 ? 2 : 1);
  const text = decoder.decode(raw.subarray(0, blockEnd));

  const headers: HeaderField[] = [];
  for (let start = 0, n = 1; start < text.length; n++) {
    const lf = text.indexOf('\n', start);
    const next = lf < 0 ? text.length : lf + 1;
    const line = text.slice(start, lf > 0 && text[lf - 1] === '\r' ? lf - 1 : lf < 0 ? text.length : lf);
    const at = start;
    start = next;
    const bad = control.exec(line);
    if (bad) return fail('malformed-message', `header line ${n} contains ${describe(bad[0])}; header fields may hold no control characters but tab`);
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (headers.length === 0) return fail('malformed-message', 'message starts with a folded header line');
      const field = headers[headers.length - 1];
      field.value += ' ' + line.trim();
      field.end = next;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!fieldName.test(name)) {
      return fail('malformed-message', `header line ${n} is not a "Name: value" field: ${JSON.stringify(line.slice(0, 60))}`);
    }
    headers.push({ name, value: line.slice(colon + 1).trim(), start: at, end: next });
  }
  for (const h of headers) if (/[^\x00-\x7f]/.test(h.value)) h.value = utf8Value(raw, h) ?? h.value;
  const from = headers.filter((h) => h.name.toLowerCase() === 'from');
  if (from.length === 0) return fail('malformed-message', 'message has no From header');
  if (from.length > 1) return fail('malformed-message', 'message has more than one From header');
  return ok({ headers, headerEnd });
}

/**
 * The body may carry 8-bit data but no NUL (RFC 5322 section 2.3; RFC 6152 keeps that for
 * 8BITMIME, and BINARYMIME is not offered): receivers refuse or mangle it, so the sender
 * hears now, not from a bounce. Binary content belongs in a base64 part. One memchr pass,
 * no copy.
 */
export function checkBody(raw: Uint8Array, headerEnd: number): Result<void> {
  const nul = raw.indexOf(0, headerEnd);
  if (nul >= 0) return fail('malformed-message', `the message body contains a NUL byte at offset ${nul}; encode binary content as base64`);
  return ok(undefined);
}

export function headerValue(headers: HeaderField[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

function describe(char: string): string {
  if (char === '\0') return 'a NUL byte';
  if (char === '\r') return 'a bare CR';
  return `the control character 0x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

// The structure is read with a single-byte decoding, which keeps offsets; values with 8-bit
// bytes are then read again as UTF-8 (RFC 6532), when they are valid UTF-8, so an
// internationalised address in To reads as written.
const decoder = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function utf8Value(raw: Uint8Array, field: HeaderField): string | undefined {
  try {
    const text = utf8.decode(raw.subarray(field.start + field.name.length + 1, field.end));
    return text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join(' ');
  } catch {
    return undefined;
  }
}

/** Offset of the line break that ends the header block (before an empty line), or -1. */
function blankLine(raw: Uint8Array, limit: number): number {
  for (let i = raw.indexOf(10); i >= 0 && i < limit; i = raw.indexOf(10, i + 1)) {
    const next = raw[i + 1] === 13 ? i + 2 : i + 1;
    if (raw[next] === 10) return raw[i - 1] === 13 ? i - 1 : i;
  }
  return -1;
}
