import type { FeedbackReport } from './feedback-report.ts';
import type { VerpCodec } from './verp.ts';

export interface FeedbackAddresses {
  codec: VerpCodec;
  /** The bounce domains of this cluster's infrastructures. */
  bounceDomains: Iterable<string>;
  /** Complaint (feedback loop) and unsubscribe mailboxes, whole addresses. */
  mailboxes?: Iterable<string>;
}

/**
 * Which RCPT addresses the feedback listener takes: a VERP address that decodes at one of
 * our bounce domains, or a configured mailbox. Everything else is refused at RCPT.
 */
export function feedbackRecipientFilter(addresses: FeedbackAddresses): (recipient: string) => boolean {
  const domains = new Set([...addresses.bounceDomains].map((d) => d.toLowerCase()));
  const mailboxes = new Set([...(addresses.mailboxes ?? [])].map((a) => a.toLowerCase()));
  return (recipient) => {
    const lower = recipient.toLowerCase();
    if (mailboxes.has(lower)) return true;
    const decoded = addresses.codec.decode(lower);
    return decoded.kind === 'ok' && domains.has(decoded.domain);
  };
}

export type DeliveryLocation = { found: true; deliveryId: number; via: 'rcpt' | 'original-mail-from' | 'return-path' } | { found: false };

/**
 * The delivery a report is about. A DSN comes to the VERP address itself (RCPT); a
 * feedback report comes to the complaint mailbox and names the VERP address in its
 * Original-Mail-From or in the quoted original's Return-Path.
 */
export function locateDelivery(report: FeedbackReport, recipients: readonly string[], codec: VerpCodec): DeliveryLocation {
  const candidates: [string | null, 'rcpt' | 'original-mail-from' | 'return-path'][] = recipients.map((r) => [r, 'rcpt']);
  if (report.kind === 'arf') candidates.push([report.originalMailFrom, 'original-mail-from']);
  if ('original' in report && report.original) candidates.push([report.original.returnPath, 'return-path']);
  for (const [address, via] of candidates) {
    if (address === null) continue;
    const decoded = codec.decode(address);
    if (decoded.kind === 'ok') return { found: true, deliveryId: decoded.deliveryId, via };
  }
  return { found: false };
}
