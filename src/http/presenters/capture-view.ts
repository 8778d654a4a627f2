import type { CaptureSummary } from '../../app/capture-service.ts';
import type { CapturedMessage } from '../schemas/capture.ts';

/** A captured message as the admin API lists it (schema: CaptureList). */
export function captureView(m: CaptureSummary): CapturedMessage {
  return {
    id: m.id,
    mailFrom: m.mailFrom,
    recipients: m.recipients,
    subject: m.subject,
    messageId: m.messageId,
    size: m.size,
    receivedAt: new Date(m.receivedAt).toISOString(),
    ...(m.raw === undefined ? {} : { raw: m.raw }),
  };
}
