import { noticeLanguages, type NoticeLanguage } from './notice.ts';

export interface NoticeLocale {
  /** Which templates to use. */
  language: NoticeLanguage;
  /** Which conventions to format dates and numbers with: the contact's own locale when
   * its language has templates (so `es-MX` gets "1,234" and "8:30 p.m."), otherwise the
   * fallback language, so that a notice never mixes two languages. */
  formatLocale: string;
}

const fallback: NoticeLocale = { language: noticeLanguages[0], formatLocale: noticeLanguages[0] };

function isNoticeLanguage(s: string): s is NoticeLanguage {
  return (noticeLanguages as readonly string[]).includes(s);
}

export function resolveNoticeLocale(locale: string): NoticeLocale {
  let canonical: string;
  try {
    // Contact data often carries POSIX-style tags ("es_MX.UTF-8").
    const tag = locale.trim().replace(/\..*$/, '').replace(/_/g, '-');
    const first = Intl.getCanonicalLocales(tag)[0];
    if (first === undefined) return fallback;
    canonical = first;
  } catch {
    return fallback; // not a well-formed language tag
  }
  const language = new Intl.Locale(canonical).language;
  if (!isNoticeLanguage(language)) return fallback;
  const supported = Intl.DateTimeFormat.supportedLocalesOf([canonical]).length > 0;
  return { language, formatLocale: supported ? canonical : language };
}
