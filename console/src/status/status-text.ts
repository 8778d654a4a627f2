/** The status page's words in English and Spanish, matching the notices' tone. */
export type Language = 'en' | 'es';

export interface StatusText {
  title: string;
  intro: (customer: string) => string;
  timesIn: (zone: string) => string;
  environment: Record<string, string>;
  state: Record<string, string>;
  scheduled: string;
  paused: (held: string) => string;
  completed: (when: string, paused: string, released: string) => string;
  completedNothingHeld: (when: string, paused: string) => string;
  rolledBack: string;
  notScheduled: string;
  window: string;
  estimate: string;
  about: (d: string) => string;
  history: string;
  announced: (start: string, end: string) => string;
  started: (at: string) => string;
  switched: (at: string) => string;
  finished: (at: string) => string;
  noAction: string;
  support: string;
  invalid: string;
  loading: string;
  updated: (at: string) => string;
  duration: { s: string; min: string; h: string };
}

export const text: Record<Language, StatusText> = {
  en: {
    title: 'Upgrade status',
    intro: (c) => `The upgrade of the email sending infrastructure for ${c}'s instances.`,
    timesIn: (z) => `Times are in your time zone, ${z}.`,
    environment: { development: 'development', staging: 'staging', production: 'production' },
    state: {
      'not-scheduled': 'Not scheduled',
      scheduled: 'Scheduled',
      'sending-paused': 'Upgrading now',
      completed: 'Completed',
      'rolled-back': 'Rolled back',
    },
    scheduled:
      'Sending continues as usual until the window. During it, sending pauses briefly while the instance switches; mail submitted meanwhile is held and sent right after.',
    paused: (n) => `Sending is paused while your instance is upgraded; ${n} held and will be sent afterwards.`,
    completed: (w, p, r) => `Upgrade completed on ${w}. Sending was paused for ${p}; ${r} sent afterwards.`,
    completedNothingHeld: (w, p) => `Upgrade completed on ${w}. Sending was paused for ${p}; no message had to be held.`,
    rolledBack: 'The upgrade of this instance was rolled back: it keeps sending as before and will be upgraded in a later window. No message was lost.',
    notScheduled: 'No upgrade is scheduled for this instance.',
    window: 'Window',
    estimate: 'Estimated duration',
    about: (d) => `about ${d}`,
    history: 'History',
    announced: (s, e) => `Window announced: ${s} to ${e}`,
    started: (a) => `Upgrade started: ${a}`,
    switched: (a) => `Switched to the new infrastructure and sending resumed: ${a}`,
    finished: (a) => `Window completed: ${a}`,
    noAction: 'The upgrade is automatic: no action or testing is needed on your side.',
    support: 'Questions? Contact',
    invalid: 'This status link is not valid, or it has been replaced by a newer one.',
    loading: 'Loading…',
    updated: (a) => `Updated ${a}`,
    duration: { s: 's', min: 'min', h: 'h' },
  },
  es: {
    title: 'Estado de la actualización',
    intro: (c) => `La actualización de la infraestructura de envío de correo de las instancias de ${c}.`,
    timesIn: (z) => `Las horas están en su zona horaria, ${z}.`,
    environment: { development: 'desarrollo', staging: 'preproducción', production: 'producción' },
    state: { 'not-scheduled': 'Sin programar', scheduled: 'Programada', 'sending-paused': 'Actualizando', completed: 'Completada', 'rolled-back': 'Revertida' },
    scheduled:
      'El envío continúa con normalidad hasta la ventana. Durante ella, el envío se pausa brevemente mientras la instancia cambia; el correo enviado entretanto se retiene y sale justo después.',
    paused: (n) => `El envío está en pausa mientras se actualiza su instancia; ${n} retenidos y se enviarán después.`,
    completed: (w, p, r) => `Actualización completada el ${w}. El envío estuvo en pausa ${p}; después se enviaron ${r}.`,
    completedNothingHeld: (w, p) => `Actualización completada el ${w}. El envío estuvo en pausa ${p}; no hubo que retener ningún mensaje.`,
    rolledBack:
      'La actualización de esta instancia se ha revertido: sigue enviando como antes y se actualizará en una ventana posterior. No se ha perdido ningún mensaje.',
    notScheduled: 'No hay ninguna actualización programada para esta instancia.',
    window: 'Ventana',
    estimate: 'Duración estimada',
    about: (d) => `unos ${d}`,
    history: 'Historial',
    announced: (s, e) => `Ventana anunciada: del ${s} al ${e}`,
    started: (a) => `Inicio de la actualización: ${a}`,
    switched: (a) => `Cambio a la nueva infraestructura y envío reanudado: ${a}`,
    finished: (a) => `Ventana completada: ${a}`,
    noAction: 'La actualización es automática: no tiene que hacer ni probar nada.',
    support: '¿Preguntas? Escriba a',
    invalid: 'Este enlace de estado no es válido o ha sido sustituido por uno más reciente.',
    loading: 'Cargando…',
    updated: (a) => `Actualizado: ${a}`,
    duration: { s: 's', min: 'min', h: 'h' },
  },
};

/** "1 message is" / "1.234 mensajes están": the count with its noun and verb. */
export function messages(language: Language, n: number, locale: string): string {
  const num = new Intl.NumberFormat(locale).format(n);
  if (language === 'es') return n === 1 ? `${num} mensaje está` : `${num} mensajes están`;
  return n === 1 ? `${num} message is` : `${num} messages are`;
}

export function sentMessages(language: Language, n: number, locale: string): string {
  const num = new Intl.NumberFormat(locale).format(n);
  if (language === 'es') return n === 1 ? `${num} mensaje retenido` : `${num} mensajes retenidos`;
  return n === 1 ? `${num} held message was` : `${num} held messages were`;
}

export function languageOf(locale: string): Language {
  return locale.toLowerCase().startsWith('es') ? 'es' : 'en';
}
