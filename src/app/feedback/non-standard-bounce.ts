import { addressesIn, fieldValue, type Field } from './field-blocks.ts';
import type { BounceFormat, DsnAction } from './feedback-report.ts';

/** One recipient as a human-readable bounce describes it. */
export interface FoundRecipient {
  address: string | null;
  action: DsnAction;
  diagnostic: string | null;
}

export interface BounceText {
  /** The plain text (or HTML converted to text) of the report. */
  text: string;
  subject: string | null;
  from: string | null;
  headers: readonly Field[];
}

// Labels exclude the dot, so no input makes the engine try every way of splitting a name.
const atom = String.raw`[^\s<>@"',;:()\[\]]+`;
const label = String.raw`[^\s<>@"',;:()\[\].]+`;
const address = `${atom}@${label}(?:\\.${label})+`;
const bareAddressLine = new RegExp(`^\\s*<?(${address})>?(?:\\s*\\[[^\\]]*\\])?\\s*$`);
const replyLine = /(?:^|[\s'"(:#])([245]\d\d[ -]#?[245]\.\d{1,3}\.\d{1,3}(?!\d|\.\d)[^\n]*)/;

/**
 * Bounces without a delivery-status part, recognised by the wording of the systems that
 * send them (qmail, Postfix's notification text, Exchange/Outlook NDRs, Gmail), then by
 * generic signs (a mailer-daemon sender or bounce subject with a recipient or a reply).
 */
export function readNonStandardBounce(input: BounceText): { format: BounceFormat; recipients: FoundRecipient[] } | null {
  const text = input.text.slice(0, 64 * 1024).replace(/\r\n/g, '\n');
  for (const [format, read] of readers) {
    const recipients = read(text, input);
    if (recipients === null) continue;
    // The format is known but no recipient was found: the delivery the VERP address names is still the one.
    return {
      format,
      recipients: recipients.length > 0 ? recipients : [{ address: null, action: 'failed', diagnostic: replyLine.exec(text)?.[1]?.trim() ?? null }],
    };
  }
  return null;
}

type Reader = (text: string, input: BounceText) => FoundRecipient[] | null;

const qmail: Reader = (text) => {
  if (!/^Hi\. This is the qmail-send program at /m.test(text)) return null;
  const body = text.split(/^--- Below this line is a copy of the message/m)[0];
  return paragraphs(body, new RegExp(`^<(${address})>:\\s*(.*)$`)).map(({ address: rcpt, lines }) => ({
    address: rcpt,
    action: 'failed',
    diagnostic: lines.map((l) => /^Remote host said: (.*)$/.exec(l)?.[1]).find((d) => d !== undefined) ?? lines.join(' '),
  }));
};

const postfix: Reader = (text, input) => {
  if (!/^This is the (?:mail system|Postfix program) at host /m.test(text)) return null;
  const delayed = /^Delayed Mail/i.test(input.subject ?? '') || /will be retried|still being retried/i.test(text);
  const body = text.split(/^-{3,} ?(?:Original message|Undelivered message|Delayed message)/im)[0];
  return paragraphs(body, new RegExp(`^<(${address})>(?: \\(expanded from <[^>]*>\\))?: (.*)$`)).map(({ address: rcpt, lines }) => {
    const joined = lines.join(' ').replace(/\s+/g, ' ').trim().slice(0, 2000);
    const said = /\bsaid: (.*?)(?: \(in reply to [^)]*\))?$/.exec(joined);
    return { address: rcpt, action: delayed ? 'delayed' : 'failed', diagnostic: said ? said[1] : joined };
  });
};

const exchange: Reader = (text) => {
  const section = /Diagnostic information for administrators:?/i.exec(text);
  if (!section && !/Delivery has failed to these recipients or groups/i.test(text)) return null;
  const found: FoundRecipient[] = [];
  if (section) {
    const lines = text
      .slice(section.index)
      .split('\n')
      .slice(0, 200)
      .map((l) => l.slice(0, 1000));
    for (let i = 0; i < lines.length; i++) {
      const rcpt = bareAddressLine.exec(lines[i]);
      if (!rcpt) continue;
      const next = lines.slice(i + 1, i + 3).join('\n');
      const returned = /Remote Server returned '([^'\n]*)'/i.exec(next)?.[1] ?? /^\s*#?([245]\d\d[ -][^\n]*?)\s*(?:##.*)?$/m.exec(next)?.[1];
      if (returned !== undefined) found.push({ address: rcpt[1], action: 'failed', diagnostic: returned.trim() });
    }
  }
  if (found.length > 0) return found;
  const listed =
    /Delivery has failed to these recipients or groups:\s*\n\s*([^\n]*)/i.exec(text)?.[1] ?? /Your message to (\S+) couldn't be delivered/i.exec(text)?.[1];
  const rcpt = listed ? (addressesIn(listed)[0] ?? null) : null;
  return [{ address: rcpt, action: 'failed', diagnostic: replyLine.exec(text)?.[1]?.replace(/\s*##.*$/, '') ?? null }];
};

const gmail: Reader = (text) => {
  const legacy = /Delivery to the following recipients? (failed permanently|has been delayed):/i.exec(text);
  if (legacy) {
    const action: DsnAction = /delayed/i.test(legacy[1]) ? 'delayed' : 'failed';
    const details = /Technical details of (?:permanent|temporary) failure:/i.exec(text);
    const diagnostic = details ? firstParagraph(text.slice(details.index + details[0].length)) : null;
    return addressesIn(indentedLinesAfter(text.slice(legacy.index + legacy[0].length)).join('\n')).map((a) => ({ address: a, action, diagnostic }));
  }
  const modern =
    /Your message wasn't delivered to (\S+@\S+?) because/i.exec(text) ??
    /Message not delivered\b[\s\S]{0,300}?delivered to (\S+@\S+?)(?: because|\.)/i.exec(text);
  if (!modern) return null;
  const delayed = /Message not delivered yet|Delivery incomplete|has been delayed|will retry/i.test(text);
  const response = /The response(?: from the remote server)? was:/i.exec(text);
  return [
    {
      address: modern[1],
      action: delayed ? 'delayed' : 'failed',
      diagnostic: response ? firstParagraph(text.slice(response.index + response[0].length)) : null,
    },
  ];
};

const bounceSubject =
  /undeliver|returned mail|returned to sender|delivery (?:status notification \(failure\)|failure|failed|has failed|problem)|failure notice|non-?delivery|mail delivery (?:failed|system|subsystem)|could not be delivered|delivery report/i;
const daemonSender = /^(?:mailer-daemon|postmaster|mail-daemon|mailer|mail\.delivery)@/i;

const generic: Reader = (text, input) => {
  if (!daemonSender.test(input.from ?? '') && !bounceSubject.test(input.subject ?? '')) return null;
  const failed = addressesIn(fieldValue([...input.headers], 'x-failed-recipients'));
  // Exim: "The following address(es) failed:" then indented addresses.
  const listed = /following address(?:\(es\)|es)? failed:/i.exec(text);
  const recipients = failed.length > 0 ? failed : listed ? addressesIn(indentedLinesAfter(text.slice(listed.index + listed[0].length))[0] ?? null) : [];
  const diagnostic = replyLine.exec(text)?.[1]?.trim() ?? null;
  if (recipients.length === 0 && diagnostic === null) return null;
  const delayed = /delayed|will (?:be )?retr(?:y|ied)|still trying/i.test(input.subject ?? '');
  const action: DsnAction = delayed ? 'delayed' : 'failed';
  return recipients.length > 0 ? recipients.map((a) => ({ address: a, action, diagnostic })) : [{ address: null, action, diagnostic }];
};

const readers: [BounceFormat, Reader][] = [
  ['qmail', qmail],
  ['postfix', postfix],
  ['exchange', exchange],
  ['gmail', gmail],
  ['generic', generic],
];

/** Paragraphs that start with a recipient line (`<a@b>: …`), with their following lines. */
function paragraphs(text: string, start: RegExp): { address: string; lines: string[] }[] {
  const out: { address: string; lines: string[] }[] = [];
  let current: { address: string; lines: string[] } | null = null;
  for (const line of text.split('\n')) {
    const m = start.exec(line);
    if (m) {
      current = { address: m[1], lines: m[2] ? [m[2].trim()] : [] };
      out.push(current);
      if (out.length >= 100) break;
    } else if (line.trim() === '') {
      current = null;
    } else if (current && current.lines.length < 50) {
      current.lines.push(line.trim());
    }
  }
  return out;
}

/** The indented lines that follow a heading, past blank lines, up to the next unindented or blank line. */
function indentedLinesAfter(text: string): string[] {
  const lines = text.split('\n').slice(1, 200);
  const out: string[] = [];
  for (const line of lines) {
    if (line.trim() === '') {
      if (out.length > 0) break;
    } else if (/^[ \t]/.test(line)) {
      out.push(line.trim().slice(0, 1000));
    } else {
      break;
    }
  }
  return out;
}

/** The first paragraph of text, white space collapsed, at most 1,000 characters. */
function firstParagraph(text: string): string | null {
  const paragraph = text
    .slice(0, 4000)
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .find((p) => p !== '');
  return paragraph ? paragraph.slice(0, 1000) : null;
}
