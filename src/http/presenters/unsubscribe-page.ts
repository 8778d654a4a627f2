/** The one-click unsubscribe pages, in English and Spanish: no script, no external resource. */
export type PageLanguage = 'en' | 'es';

const texts = {
  en: {
    confirmTitle: 'Unsubscribe',
    confirm: (r: string) => `Stop sending these emails to <strong>${r}</strong>?`,
    button: 'Unsubscribe',
    doneTitle: 'Unsubscribed',
    done: (r: string) => `<strong>${r}</strong> will receive no more of these emails.`,
    missingTitle: 'Link not valid',
    missing: 'This unsubscribe link is not valid. Copy the whole link from the email, or reply to the sender.',
  },
  es: {
    confirmTitle: 'Darse de baja',
    confirm: (r: string) => `¿Dejar de enviar estos correos a <strong>${r}</strong>?`,
    button: 'Darse de baja',
    doneTitle: 'Baja confirmada',
    done: (r: string) => `<strong>${r}</strong> no recibirá más estos correos.`,
    missingTitle: 'Enlace no válido',
    missing: 'Este enlace de baja no es válido. Copie el enlace completo del correo o responda al remitente.',
  },
} as const;

/** `?lang=` first, then the browser's Accept-Language; English otherwise. */
export function pageLanguage(query: string | undefined, acceptLanguage: string | undefined): PageLanguage {
  if (query === 'es' || query === 'en') return query;
  const first = (acceptLanguage ?? '').split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('es') ? 'es' : 'en';
}

export function confirmPage(lang: PageLanguage, recipient: string): string {
  const t = texts[lang];
  return page(
    lang,
    t.confirmTitle,
    `<p>${t.confirm(escapeHtml(recipient))}</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${t.button}</button></form>`,
  );
}

export function donePage(lang: PageLanguage, recipient: string): string {
  const t = texts[lang];
  return page(lang, t.doneTitle, `<p>${t.done(escapeHtml(recipient))}</p>`);
}

export function missingPage(lang: PageLanguage): string {
  const t = texts[lang];
  return page(lang, t.missingTitle, `<p>${t.missing}</p>`);
}

function page(lang: PageLanguage, title: string, body: string): string {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:4px;background:#1d4ed8;color:#fff;cursor:pointer}</style>
</head><body><h1>${title}</h1>
${body}
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
