import { readFileSync } from 'node:fs';
import { Liquid, type Template } from 'liquidjs';
import { noticeKinds, noticeLanguages, type NoticeKind, type NoticeLanguage } from './notice.ts';

/**
 * Notice templates live in `templates/<language>/<kind>.liquid`, one file per kind and
 * language. A file's first line is `Subject: <subject template>`, its second line is
 * blank, and the rest is the plain text body. Subject and body are parsed separately, so
 * nothing a value prints can move text from the body into the subject or back.
 */
export const defaultTemplatesDir = new URL('./templates/', import.meta.url);

export interface NoticeTemplate {
  subject: Template[];
  body: Template[];
}

export type NoticeTemplates = Record<NoticeLanguage, Record<NoticeKind, NoticeTemplate>>;

export function createNoticeLiquid(): Liquid {
  return new Liquid({
    // A misspelt variable or filter is a template bug: fail loudly instead of printing ''.
    strictVariables: true,
    strictFilters: true,
    // No outputEscape: notices are plain text. Values are only ever printed, never
    // parsed, so a customer or instance name containing "{{ }}" comes out literally.
  });
}

const subjectPrefix = 'Subject: ';

export function parseNoticeTemplate(liquid: Liquid, source: string, file: string): NoticeTemplate {
  const text = source.replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  const first = lines[0] ?? '';
  if (!first.startsWith(subjectPrefix) || lines[1] !== '') {
    throw new Error(`${file}: expected "Subject: …" on the first line and a blank second line`);
  }
  return {
    subject: liquid.parse(first.slice(subjectPrefix.length), file),
    body: liquid.parse(lines.slice(2).join('\n'), file),
  };
}

/** Reads and parses every template; a missing or malformed one throws (a packaging bug). */
export function loadNoticeTemplates(dir: URL = defaultTemplatesDir, liquid = createNoticeLiquid()): NoticeTemplates {
  const templates = {} as NoticeTemplates;
  for (const language of noticeLanguages) {
    const byKind = {} as Record<NoticeKind, NoticeTemplate>;
    for (const kind of noticeKinds) {
      const file = new URL(`${language}/${kind}.liquid`, dir);
      byKind[kind] = parseNoticeTemplate(liquid, readFileSync(file, 'utf8'), file.pathname);
    }
    templates[language] = byKind;
  }
  return templates;
}
