import { createNoticeLiquid, defaultTemplatesDir, loadNoticeTemplates } from './notice-templates.ts';
import { formatCount, formatEstimate, formatLead, formatTime, resolveZone } from './notice-format.ts';
import { resolveNoticeLocale } from './notice-locale.ts';
import type { NoticeInput, NoticeLanguage, RenderedNotice } from './notice.ts';

const environmentLabels: Record<NoticeLanguage, Record<string, string>> = {
  en: { development: 'development', staging: 'staging', production: 'production' },
  es: { development: 'desarrollo', staging: 'preproducción', production: 'producción' },
};

// Control characters, line separators and bidi overrides: a name carrying them could
// break the subject line, fake paragraphs in the body or display reversed text.
const unsafeCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/** Every substituted value is one line of plain text. */
function oneLine(value: string): string {
  return value.replace(unsafeCharacters, ' ').replace(/ {2,}/g, ' ').trim();
}

/** Trailing blanks off every line, at most one blank line in a row, one final newline. */
function tidy(body: string): string {
  return `${body
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function countOrNull(n: number | undefined): number | null {
  return n !== undefined && Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

export type NoticeRenderer = (input: NoticeInput) => RenderedNotice;

/** A renderer over the templates in `dir`, read and parsed once, now. */
export function createNoticeRenderer(dir: URL = defaultTemplatesDir): NoticeRenderer {
  const liquid = createNoticeLiquid();
  const templates = loadNoticeTemplates(dir, liquid);

  return (input) => {
    const { language, formatLocale } = resolveNoticeLocale(input.locale);
    const zone = resolveZone(input.timezone);
    const start = formatTime(input.windowStart, zone, formatLocale);
    const held = countOrNull(input.heldReleased);
    const labels = environmentLabels[language];
    const scope = {
      customerName: oneLine(input.customerName),
      programName: oneLine(input.programName),
      supportContact: oneLine(input.supportContact),
      timezone: zone,
      instances: input.instances.map((instance) => ({
        name: oneLine(instance.name),
        // hasOwn, so an environment called "constructor" is printed, not looked up.
        environment: Object.hasOwn(labels, instance.environment) ? labels[instance.environment] : oneLine(instance.environment),
      })),
      instanceCount: input.instances.length,
      windowStart: start.dateTime,
      windowStartDate: start.date,
      windowEnd: formatTime(input.windowEnd, zone, formatLocale).dateTime,
      estimate: formatEstimate(input.estimateMs, formatLocale),
      reminderLead: input.reminderLeadMs === undefined ? null : formatLead(input.reminderLeadMs, formatLocale),
      heldReleasedCount: held,
      heldReleased: held === null ? null : formatCount(held, formatLocale),
      reason: input.reason === undefined || oneLine(input.reason) === '' ? null : oneLine(input.reason),
    };
    const template = templates[language][input.kind];
    return {
      subject: oneLine(liquid.renderSync(template.subject, scope) as string),
      text: tidy(liquid.renderSync(template.body, scope) as string),
    };
  };
}

let defaultRenderer: NoticeRenderer | undefined;

/** Renders a notice with the templates shipped beside this file, loaded at first use. */
export function renderNotice(input: NoticeInput): RenderedNotice {
  defaultRenderer ??= createNoticeRenderer();
  return defaultRenderer(input);
}
