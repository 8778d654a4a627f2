import type { Field } from './field-blocks.ts';

// Subjects of out-of-office and auto-responder messages in the languages our customers
// write in, for the responders that set no header (many still do not).
const autoReplySubject = new RegExp(
  [
    String.raw`^(?:re:\s*)?(?:auto(?:matic|matische?)?[ -]?(?:reply|response|answer|antwort|respuesta|resposta))`,
    String.raw`out of (?:the )?office`,
    String.raw`\bauto-?reply\b`,
    String.raw`\bon (?:vacation|holiday|leave)\b`,
    String.raw`\baway from (?:the|my) (?:office|desk)\b`,
    String.raw`respuesta autom[aá]tica`,
    String.raw`fuera de (?:la )?oficina`,
    String.raw`r[ée]ponse automatique`,
    String.raw`absence du bureau`,
    String.raw`abwesenheits?(?:notiz|nachricht)`,
    String.raw`risposta automatica`,
    String.raw`fuori sede`,
    String.raw`resposta autom[aá]tica`,
    String.raw`automatisch antwoord`,
    String.raw`afwezigheidsbericht`,
    String.raw`autosvar`,
  ].join('|'),
  'i',
);

/**
 * Why a message is an automatic answer (RFC 3834 headers, the de-facto X- ones, or its
 * subject), or null. Checked after DSN and bounce detection: bounces carry
 * `Auto-Submitted: auto-replied` too.
 */
export function autoReplySignal(headers: readonly Field[], subject: string | null): string | null {
  for (const { name, value } of headers) {
    const v = value.toLowerCase();
    if (name === 'auto-submitted' && v !== '' && !v.startsWith('no')) return `auto-submitted: ${v}`;
    if ((name === 'x-autoreply' || name === 'x-autorespond' || name === 'x-autoresponder') && v !== 'no') return name;
    if (name === 'precedence' && v === 'auto_reply') return 'precedence: auto_reply';
  }
  if (subject !== null && autoReplySubject.test(subject)) return 'subject';
  return null;
}
