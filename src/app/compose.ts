import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { DomainError } from '../core/errors.ts';
import { validateAddress } from '../core/fleet/fleet-input.ts';
import { isTraceField } from '../core/spool/message-check.ts';

export interface JsonMessage {
  from: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  replyTo?: string;
  subject?: string;
  text?: string;
  html?: string;
  headers?: Record<string, string>;
  attachments?: { filename: string; content: string; contentType?: string }[];
}

const headerName = /^[\x21-\x39\x3b-\x7e]+$/;
/** Fields mailshift writes itself; a caller setting them would forge the envelope view. */
const reservedHeaders = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'content-type', 'content-transfer-encoding', 'mime-version']);

/**
 * Builds MIME from API fields. Line breaks in any header-bound field are refused, not
 * folded away: a CR/LF there is an injection attempt or a bug, and either way the caller
 * should hear of it.
 */
export async function composeMessage(m: JsonMessage): Promise<{ raw: Buffer; mailFrom: string; recipients: string[] }> {
  headerText('from', m.from);
  headerText('subject', m.subject);
  headerText('replyTo', m.replyTo);
  const from = mailbox('from', m.from);
  const to = list('to', m.to);
  const cc = list('cc', m.cc);
  const bcc = list('bcc', m.bcc);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (!headerName.test(name)) throw new DomainError('header-injection', `header name ${JSON.stringify(name)} is not a valid field name`);
    if (reservedHeaders.has(name.toLowerCase())) throw new DomainError('invalid-request', `header ${name} is set from the message fields, not from headers`);
    // Refused rather than dropped: the caller asked for something it cannot have (see traceFields).
    if (isTraceField(name))
      throw new DomainError(
        'invalid-request',
        `header ${name} is a trace or authentication field, written by the servers the message passes through, not by its sender`,
      );
    headerText(`headers.${name}`, value);
    headers[name] = value;
  }
  if (m.text === undefined && m.html === undefined) throw new DomainError('invalid-request', 'a message needs text or html');
  noNul('text', m.text);
  noNul('html', m.html);
  const composer = new MailComposer({
    from,
    to,
    cc,
    // Bcc recipients get the message but never see themselves in it.
    bcc,
    replyTo: m.replyTo ? address('replyTo', m.replyTo) : undefined,
    subject: m.subject ?? '',
    text: m.text,
    html: m.html,
    headers,
    attachments: (m.attachments ?? []).map((a, i) => {
      headerText(`attachments[${i}].filename`, a.filename);
      headerText(`attachments[${i}].contentType`, a.contentType);
      return { filename: a.filename, content: Buffer.from(a.content, 'base64'), contentType: a.contentType };
    }),
  });
  const raw = await new Promise<Buffer>((resolve, reject) => composer.compile().build((err, out) => (err ? reject(err) : resolve(out))));
  const recipients = [...to, ...cc, ...bcc].map((r) => r.address);
  if (recipients.length === 0) throw new DomainError('no-recipients', 'a message needs at least one of to, cc, bcc');
  return { raw, mailFrom: from.address, recipients };
}

/** For every header-bound field: no line breaks (injection), no NUL or other controls (tab aside). */
function headerText(field: string, value: unknown): void {
  if (typeof value !== 'string') return;
  if (/[\r\n]/.test(value)) throw new DomainError('header-injection', `${field} contains a line break`);
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(value)) throw new DomainError('malformed-message', `${field} contains a NUL or control character`);
}

/** Bodies may hold controls such as form feed, but a NUL is no text in any charset (RFC 2046). */
function noNul(field: string, value: unknown): void {
  if (typeof value === 'string' && value.includes('\0')) throw new DomainError('malformed-message', `${field} contains a NUL character`);
}

/** "a@b.example" or "Name <a@b.example>": exactly one mailbox. */
function mailbox(field: string, value: unknown): { name: string; address: string } {
  headerText(field, value);
  if (typeof value !== 'string') throw new DomainError('invalid-address', `${field} must be an address`);
  const parsed = addressparser(value, { flatten: true }) as { name: string; address: string }[];
  if (parsed.length !== 1) throw new DomainError('invalid-address', `${field} must hold exactly one address, got ${JSON.stringify(value)}`);
  const v = validateAddress(parsed[0].address);
  if (!v.ok) throw new DomainError('invalid-address', `${field}: ${v.error.detail}`);
  return { name: parsed[0].name, address: v.value };
}

function address(field: string, value: unknown): string {
  return mailbox(field, value).address;
}

function list(field: string, values: unknown): { name: string; address: string }[] {
  if (values === undefined) return [];
  if (!Array.isArray(values)) throw new DomainError('invalid-request', `${field} must be a list of addresses`);
  return values.map((v, i) => mailbox(`${field}[${i}]`, v));
}
