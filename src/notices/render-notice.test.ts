import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderNotice } from './render-notice.ts';
import { createNoticeLiquid, parseNoticeTemplate } from './notice-templates.ts';
import { noticeKinds, noticeLanguages, type NoticeInput } from './notice.ts';

const minute = 60_000;
const hour = 60 * minute;

function input(overrides: Partial<NoticeInput> = {}): NoticeInput {
  return {
    kind: 'scheduled',
    locale: 'en',
    timezone: 'Europe/Madrid',
    customerName: 'Acme Retail',
    programName: 'relay-2026',
    instances: [
      { name: 'acme-prod', environment: 'production' },
      { name: 'acme-stage', environment: 'staging' },
    ],
    windowStart: Date.parse('2026-10-25T00:30:00Z'),
    windowEnd: Date.parse('2026-10-25T02:30:00Z'),
    estimateMs: 15 * minute,
    supportContact: 'support@mailshift.example',
    heldReleased: 1234,
    reason: 'the target refused the canary message',
    reminderLeadMs: 72 * hour,
    ...overrides,
  };
}

/** The line of the body that starts with `label`, e.g. "Starts:". */
function line(text: string, label: string): string | undefined {
  return text
    .split('\n')
    .find((l) => l.trim().startsWith(label))
    ?.trim();
}

describe('renderNotice: every kind in every language', () => {
  for (const kind of noticeKinds) {
    for (const locale of noticeLanguages) {
      it(`${kind} in ${locale}`, () => {
        const notice = renderNotice(input({ kind, locale }));
        assert.ok(notice.subject.length > 0);
        assert.doesNotMatch(notice.subject, /[\r\n]/);
        assert.match(notice.text, /support@mailshift\.example/);
        assert.match(notice.text, /- acme-prod \((production|producción)\)/);
        assert.match(notice.text, /- acme-stage \((staging|preproducción)\)/);
        assert.match(notice.text, /relay-2026/);
        assert.match(notice.text, locale === 'es' ? /^Hola, equipo de Acme Retail:$/m : /^Hello Acme Retail team,$/m);
        assert.doesNotMatch(notice.text, /\{\{|\{%|\n\n\n|[ \t]\n/);
        assert.ok(notice.text.endsWith(locale === 'es' ? '\nReferencia: relay-2026\n' : '\nReference: relay-2026\n'));
        assert.equal(notice.html, undefined);
      });
    }
  }

  it('speaks of one instance in the singular', () => {
    const one = [{ name: 'solo', environment: 'development' }];
    assert.match(renderNotice(input({ instances: one })).text, /for the following instance to a new/);
    assert.match(renderNotice(input({ instances: one, locale: 'es' })).text, /de la siguiente instancia a una nueva/);
    assert.match(renderNotice(input({ instances: one, locale: 'es' })).text, /- solo \(desarrollo\)/);
    assert.match(renderNotice(input({ kind: 'rolled-back', instances: one })).text, /moved it back to its previous/);
  });
});

describe('renderNotice: scheduled content', () => {
  it('says in English what to expect, that nothing is needed, and why the slot is fixed', () => {
    const { subject, text } = renderNotice(input({ locale: 'en-GB' }));
    assert.equal(subject, 'Scheduled upgrade of your email sending: Sunday, 25 October 2026');
    assert.equal(line(text, 'Expected duration:'), 'Expected duration: about 15 minutes.');
    assert.match(text, /sending pauses briefly/);
    assert.match(text, /accepted as usual, held safely,\s+and sent right after the switch/);
    assert.match(text, /Mail injection \(SMTP and API\), the API and the console keep working/);
    assert.match(text, /No action or testing is needed/);
    assert.match(text, /mandatory for every customer, and your slot cannot be moved/);
    assert.match(text, /moving one slot\s+would disrupt other customers' waves/);
    assert.match(text, /contact support@mailshift\.example\./);
  });

  it('says the same in Spanish', () => {
    const { subject, text } = renderNotice(input({ locale: 'es' }));
    assert.equal(subject, 'Actualización programada de su envío de correo: domingo, 25 de octubre de 2026');
    assert.equal(line(text, 'Duración estimada:'), 'Duración estimada: aproximadamente 15 minutos.');
    assert.match(text, /el envío se detiene brevemente/);
    assert.match(text, /se retiene de forma segura y sale justo después del cambio/);
    assert.match(text, /La inyección de correo \(SMTP y API\), la API y la consola siguen/);
    assert.match(text, /No necesita realizar ninguna acción ni ninguna prueba/);
    assert.match(text, /obligatoria para todos los clientes y su franja no se\s+puede cambiar/);
    assert.match(text, /mover una franja alteraría las oleadas de otros clientes/);
    assert.match(text, /contacte con support@mailshift\.example\./);
  });

  it('words longer estimates in hours and minutes', () => {
    const en = renderNotice(input({ estimateMs: 90 * minute })).text;
    const es = renderNotice(input({ estimateMs: 90 * minute, locale: 'es' })).text;
    assert.equal(line(en, 'Expected duration:'), 'Expected duration: about 1 hour and 30 minutes.');
    assert.equal(line(es, 'Duración estimada:'), 'Duración estimada: aproximadamente 1 hora y 30 minutos.');
    const twoHours = renderNotice(input({ estimateMs: 2 * hour + 40_000 })).text;
    assert.equal(line(twoHours, 'Expected duration:'), 'Expected duration: about 2 hours.');
    const short = renderNotice(input({ estimateMs: 20_000, locale: 'es' })).text;
    assert.equal(line(short, 'Duración estimada:'), 'Duración estimada: aproximadamente 1 minuto.');
  });
});

describe('renderNotice: local times across daylight-saving changes', () => {
  it('Europe/Madrid in Spanish, autumn: 02:30 CEST to 03:30 CET', () => {
    const { text } = renderNotice(input({ locale: 'es' }));
    assert.equal(line(text, 'Inicio:'), 'Inicio: domingo, 25 de octubre de 2026, 02:30 CEST (UTC+02:00)');
    assert.equal(line(text, 'Fin:'), 'Fin:    domingo, 25 de octubre de 2026, 03:30 CET (UTC+01:00)');
    assert.equal(line(text, 'Horas en'), 'Horas en su zona horaria, Europe/Madrid.');
  });

  it('Europe/Madrid in Spanish, spring: 01:30 CET to 03:30 CEST', () => {
    const { text } = renderNotice(
      input({
        locale: 'es-ES',
        kind: 'reminder',
        windowStart: Date.parse('2026-03-29T00:30:00Z'),
        windowEnd: Date.parse('2026-03-29T01:30:00Z'),
      }),
    );
    assert.equal(line(text, 'Inicio:'), 'Inicio: domingo, 29 de marzo de 2026, 01:30 CET (UTC+01:00)');
    assert.equal(line(text, 'Fin:'), 'Fin:    domingo, 29 de marzo de 2026, 03:30 CEST (UTC+02:00)');
  });

  it('Europe/Madrid in English: the offset shows even where ICU has no abbreviation', () => {
    const gb = renderNotice(input({ locale: 'en-GB' })).text;
    assert.equal(line(gb, 'Starts:'), 'Starts: Sunday, 25 October 2026, 02:30 CEST (UTC+02:00)');
    assert.equal(line(gb, 'Ends:'), 'Ends:   Sunday, 25 October 2026, 03:30 CET (UTC+01:00)');
    const us = renderNotice(input({ locale: 'en' })).text;
    assert.equal(line(us, 'Starts:'), 'Starts: Sunday, October 25, 2026, 2:30 AM UTC+02:00');
    assert.equal(line(us, 'Ends:'), 'Ends:   Sunday, October 25, 2026, 3:30 AM UTC+01:00');
  });

  it('America/New_York on 2026-11-01: the repeated 1:30 shows both offsets', () => {
    const window = {
      timezone: 'America/New_York',
      windowStart: Date.parse('2026-11-01T05:30:00Z'),
      windowEnd: Date.parse('2026-11-01T06:30:00Z'),
    };
    const en = renderNotice(input({ ...window, locale: 'en-US' })).text;
    assert.equal(line(en, 'Starts:'), 'Starts: Sunday, November 1, 2026, 1:30 AM EDT (UTC-04:00)');
    assert.equal(line(en, 'Ends:'), 'Ends:   Sunday, November 1, 2026, 1:30 AM EST (UTC-05:00)');
    assert.equal(line(en, 'Times are'), 'Times are in your time zone, America/New_York.');
    const es = renderNotice(input({ ...window, locale: 'es' })).text;
    assert.equal(line(es, 'Inicio:'), 'Inicio: domingo, 1 de noviembre de 2026, 01:30 UTC-04:00');
    assert.equal(line(es, 'Fin:'), 'Fin:    domingo, 1 de noviembre de 2026, 01:30 UTC-05:00');
  });

  it('Asia/Kolkata (+05:30), across local midnight', () => {
    const window = {
      kind: 'started' as const,
      timezone: 'Asia/Kolkata',
      windowStart: Date.parse('2026-03-10T16:30:00Z'),
      windowEnd: Date.parse('2026-03-10T19:00:00Z'),
    };
    const en = renderNotice(input({ ...window, locale: 'en' })).text;
    assert.equal(line(en, 'Starts:'), 'Starts: Tuesday, March 10, 2026, 10:00 PM UTC+05:30');
    assert.equal(line(en, 'Ends:'), 'Ends:   Wednesday, March 11, 2026, 12:30 AM UTC+05:30');
    const es = renderNotice(input({ ...window, locale: 'es' })).text;
    assert.equal(line(es, 'Inicio:'), 'Inicio: martes, 10 de marzo de 2026, 22:00 UTC+05:30');
    assert.equal(line(es, 'Fin:'), 'Fin:    miércoles, 11 de marzo de 2026, 00:30 UTC+05:30');
  });

  it('an unknown time zone falls back to UTC and says so', () => {
    const { text } = renderNotice(input({ timezone: 'Mars/Olympus_Mons', locale: 'en-GB' }));
    assert.equal(line(text, 'Starts:'), 'Starts: Sunday, 25 October 2026, 00:30 UTC');
    assert.equal(line(text, 'Times are'), 'Times are in your time zone, UTC.');
  });
});

describe('renderNotice: locale', () => {
  const greeting = (locale: string) => renderNotice(input({ locale })).text.split('\n')[0];

  it("uses the language of a regional locale, with that region's conventions", () => {
    assert.equal(greeting('es-MX'), 'Hola, equipo de Acme Retail:');
    assert.equal(greeting('es_AR'), 'Hola, equipo de Acme Retail:');
    assert.equal(greeting('ES'), 'Hola, equipo de Acme Retail:');
    const mx = renderNotice(input({ kind: 'completed', locale: 'es-MX' })).text;
    assert.match(mx, /Se han liberado y enviado 1,234 mensajes/);
  });

  it('falls back to English for an unknown or malformed locale', () => {
    assert.equal(greeting('fr-FR'), 'Hello Acme Retail team,');
    assert.equal(greeting('de'), 'Hello Acme Retail team,');
    assert.equal(greeting(''), 'Hello Acme Retail team,');
    assert.equal(greeting('not a locale!'), 'Hello Acme Retail team,');
    // English words with the fallback language's conventions, not French ones.
    const fr = renderNotice(input({ locale: 'fr-FR' })).text;
    assert.equal(line(fr, 'Starts:'), 'Starts: Sunday, October 25, 2026, 2:30 AM UTC+02:00');
  });
});

describe('renderNotice: kind-specific content', () => {
  it('reminder states its lead time', () => {
    const en = renderNotice(input({ kind: 'reminder' }));
    assert.equal(en.subject, 'Reminder: upgrade of your email sending in 72 hours');
    assert.match(en.text, /moves to a new sending infrastructure in 72 hours:/);
    assert.match(en.text, /No action or testing is needed/);
    assert.match(en.text, /slot cannot be moved, because moving one slot would disrupt other\s+customers' waves/);
    const es = renderNotice(input({ kind: 'reminder', locale: 'es', reminderLeadMs: 24 * hour }));
    assert.equal(es.subject, 'Recordatorio: actualización de su envío de correo en 24 horas');
    assert.match(es.text, /pasará a una nueva infraestructura de envío en 24 horas:/);
    assert.equal(line(es.text, 'Inicio:'), 'Inicio: domingo, 25 de octubre de 2026, 02:30 CEST (UTC+02:00)');
    const week = renderNotice(input({ kind: 'reminder', locale: 'es', reminderLeadMs: 7 * 24 * hour }));
    assert.equal(week.subject, 'Recordatorio: actualización de su envío de correo en 7 días');
    const noLead = renderNotice(input({ kind: 'reminder', reminderLeadMs: undefined, locale: 'en-GB' }));
    assert.equal(noLead.subject, 'Reminder: upgrade of your email sending on Sunday, 25 October 2026');
  });

  it('started says what is happening and the window', () => {
    const { subject, text } = renderNotice(input({ kind: 'started', locale: 'es' }));
    assert.equal(subject, 'Ha comenzado la actualización de su envío de correo');
    assert.match(text, /se retiene de\s+forma segura y sale justo después del cambio/);
    assert.equal(line(text, 'Fin:'), 'Fin:    domingo, 25 de octubre de 2026, 03:30 CET (UTC+01:00)');
  });

  it('completed counts released messages per locale', () => {
    const en = renderNotice(input({ kind: 'completed' })).text;
    assert.match(en, /^1,234 messages held during the brief sending pause have been released and sent\.$/m);
    const es = renderNotice(input({ kind: 'completed', locale: 'es' })).text;
    assert.match(es, /^Se han liberado y enviado 1\.234 mensajes retenidos durante la breve pausa de envío\.$/m);
    const one = renderNotice(input({ kind: 'completed', heldReleased: 1, locale: 'es' })).text;
    assert.match(one, /Se ha liberado y enviado 1 mensaje retenido/);
    const none = renderNotice(input({ kind: 'completed', heldReleased: 0 })).text;
    assert.match(none, /No mail needed to be held/);
    const many = renderNotice(input({ kind: 'completed', heldReleased: 1_234_567, locale: 'es' })).text;
    assert.match(many, /1\.234\.567 mensajes/);
    const unknown = renderNotice(input({ kind: 'completed', heldReleased: undefined })).text;
    assert.match(unknown, /Mail held during the brief sending pause has been released and sent\./);
  });

  it('rolled-back gives the reason, the previous infrastructure and the retry', () => {
    const en = renderNotice(input({ kind: 'rolled-back' }));
    assert.match(en.subject, /postponed: back on the previous infrastructure/);
    assert.equal(line(en.text, 'Reason:'), 'Reason: the target refused the canary message');
    assert.match(en.text, /back to their previous sending infrastructure/);
    assert.match(en.text, /Your mail keeps flowing as before/);
    assert.match(en.text, /retried in a later wave/);
    const es = renderNotice(input({ kind: 'rolled-back', locale: 'es', reason: 'el relé no respondió' }));
    assert.equal(line(es.text, 'Motivo:'), 'Motivo: el relé no respondió');
    assert.match(es.text, /a su infraestructura de envío anterior/);
    assert.match(es.text, /Su correo sigue saliendo como antes/);
    assert.match(es.text, /se volverá a intentar en una oleada posterior/);
    const noReason = renderNotice(input({ kind: 'rolled-back', reason: undefined })).text;
    assert.equal(line(noReason, 'Reason:'), undefined);
    assert.doesNotMatch(noReason, /\n\n\n/);
  });
});

describe('renderNotice: substituted values cannot change the output', () => {
  it('prints Liquid syntax in values literally', () => {
    const name = '{{ supportContact }}{% if true %}x{% endif %}{% raw %}';
    const { text } = renderNotice(
      input({
        instances: [{ name, environment: 'production' }],
        customerName: '{{ customerName | upcase }}',
      }),
    );
    assert.ok(text.includes(`- ${name} (production)`));
    assert.match(text, /^Hello \{\{ customerName \| upcase \}\} team,$/m);
  });

  it('keeps every value on one line, so nothing reaches the subject or fakes a paragraph', () => {
    const { subject, text } = renderNotice(
      input({
        kind: 'completed',
        customerName: 'Acme\r\nBcc: victim@example.com\n\nFake paragraph',
        instances: [{ name: 'a\u202Eb\nc', environment: 'production' }],
      }),
    );
    assert.doesNotMatch(subject, /[\r\n]/);
    assert.match(text, /^Hello Acme Bcc: victim@example\.com Fake paragraph team,$/m);
    assert.match(text, /^- a b c \(production\)$/m);
    assert.doesNotMatch(text, /\r|\u202E/);
  });

  it('prints an unknown environment as given', () => {
    const { text } = renderNotice(input({ instances: [{ name: 'x', environment: 'constructor' }] }));
    assert.match(text, /^- x \(constructor\)$/m);
  });
});

describe('notice templates', () => {
  it('need a subject line and a blank line', () => {
    const liquid = createNoticeLiquid();
    assert.throws(() => parseNoticeTemplate(liquid, 'Hello\n\nbody', 'bad.liquid'), /Subject/);
    assert.throws(() => parseNoticeTemplate(liquid, 'Subject: x\nbody', 'bad.liquid'), /blank/);
    const ok = parseNoticeTemplate(liquid, 'Subject: Hi {{ n }}\n\nBody {{ n }}\n', 'ok.liquid');
    assert.equal(liquid.renderSync(ok.subject, { n: 1 }), 'Hi 1');
    assert.equal(liquid.renderSync(ok.body, { n: 1 }), 'Body 1\n');
  });

  it('fail loudly on a variable the renderer does not provide', () => {
    const liquid = createNoticeLiquid();
    const t = parseNoticeTemplate(liquid, 'Subject: {{ typo }}\n\n', 't.liquid');
    assert.throws(() => liquid.renderSync(t.subject, {}));
  });
});
