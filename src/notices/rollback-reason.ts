import type { SwitchStep } from '../core/upgrade/switch-failure.ts';
import { resolveNoticeLocale } from './notice-locale.ts';
import type { NoticeLanguage } from './notice.ts';

/**
 * What a customer is told of a switch rolled back: the kind of failure, by the step that
 * failed, never our relays' addresses or replies (those stay in the operator's detail).
 * One entry per step and language, so a new step does not compile until it has its words.
 */
const reasons: Record<NoticeLanguage, Record<SwitchStep, string>> = {
  en: {
    'pre-check': 'the new sending infrastructure could not be reached before the switch',
    suspend: 'sending could not be paused for the switch',
    drain: 'mail being sent did not finish in time for the switch',
    rebind: 'the move to the new sending infrastructure did not complete',
    verify: 'a test message through the new sending infrastructure was not accepted',
    resume: 'sending could not be resumed on the new sending infrastructure',
    'roll-back': 'a step of the switch did not complete',
    window: 'the maintenance window closed before the switch finished',
    'sender-auth': 'the new sending infrastructure is not yet set up to authenticate mail from your domains (SPF or DKIM)',
  },
  es: {
    'pre-check': 'no se pudo contactar con la nueva infraestructura de envío antes del cambio',
    suspend: 'no se pudo pausar el envío para el cambio',
    drain: 'el correo que se estaba enviando no terminó a tiempo para el cambio',
    rebind: 'el traslado a la nueva infraestructura de envío no se completó',
    verify: 'un mensaje de prueba a través de la nueva infraestructura de envío no fue aceptado',
    resume: 'no se pudo reanudar el envío en la nueva infraestructura de envío',
    'roll-back': 'un paso del cambio no se completó',
    window: 'la ventana de mantenimiento se cerró antes de que terminara el cambio',
    'sender-auth': 'la nueva infraestructura de envío aún no está preparada para autenticar el correo de sus dominios (SPF o DKIM)',
  },
};

/** For a failure whose step is not known (a switch stored by an older version). */
const unknownStep: Record<NoticeLanguage, string> = {
  en: 'a step of the switch did not complete',
  es: 'un paso del cambio no se completó',
};

/** The reason line of a rolled-back notice, in the contact's language. */
export function rollbackReason(step: SwitchStep | null, locale: string): string {
  const { language } = resolveNoticeLocale(locale);
  return step === null ? unknownStep[language] : reasons[language][step];
}
