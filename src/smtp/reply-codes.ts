import type { ErrorCode } from '../core/errors.ts';

/** An SMTP reply code (RFC 5321) and the enhanced status code sent with it (RFC 3463, registry of RFC 5248). */
export type SmtpReply = readonly [reply: number, enhanced: string];

/**
 * What the SMTP doors answer for each error code, exactly as sent (smtp-replies.ts puts the
 * enhanced code on the wire itself). Exhaustive by type: a code added to the registry
 * (core/errors.ts) without a reply here does not compile. Codes only the HTTP API answers
 * are mapped to what they would mean over SMTP, so the record stays total; a reply class
 * (4 or 5) is always the enhanced code's class.
 */
export const smtpReplies: Readonly<Record<ErrorCode, SmtpReply>> = {
  // RFC 4954 §6: AUTH required, credentials invalid.
  'auth-required': [530, '5.7.0'],
  'auth-failed': [535, '5.7.8'],
  // X.7.1: delivery not authorized, message refused.
  forbidden: [550, '5.7.1'],
  // X.1.1: bad destination mailbox address.
  'not-found': [550, '5.1.1'],
  conflict: [451, '4.3.0'],
  // X.5.4: invalid command arguments.
  'invalid-request': [501, '5.5.4'],
  // X.1.3: bad destination mailbox address syntax.
  'invalid-address': [553, '5.1.3'],
  // X.6.0: other or undefined media error; the content is refused, not the envelope.
  'header-injection': [554, '5.6.0'],
  'malformed-message': [554, '5.6.0'],
  // X.3.4: message too big for system (smtp-server's default for 552 would be 5.2.2, a full mailbox).
  'message-too-large': [552, '5.3.4'],
  // RFC 5321 §4.5.3.1.10 and X.5.3 (smtp-server's default for 452 would be 4.2.2, a full mailbox).
  'too-many-recipients': [452, '4.5.3'],
  // As Postfix answers a DATA with no valid recipient: X.5.1, a command out of sequence.
  'no-recipients': [554, '5.5.1'],
  // X.5.0: other protocol status (the request, not its content, is at fault).
  'idempotency-mismatch': [554, '5.5.0'],
  'template-error': [554, '5.6.0'],
  'reschedule-refused': [550, '5.7.1'],
  'opt-out-refused': [550, '5.7.1'],
  'invalid-state': [451, '4.3.0'],
  // X.3.0: other or undefined mail system status, transient.
  unavailable: [451, '4.3.0'],
  // 421 closes the connection; X.7.0 other security status, as for a lockout.
  'rate-limited': [421, '4.7.0'],
  // X.3.1: mail system full (our memory budget), transient.
  'server-busy': [452, '4.3.1'],
  // X.3.2: system not accepting network messages; 421 closes the connection.
  'too-many-connections': [421, '4.3.2'],
  // X.4.2: bad connection, as MTAs answer an idle timeout.
  'idle-timeout': [421, '4.4.2'],
  // A per-instance limit: a transient policy refusal (X.7.1), so no mail is lost by it.
  'limit-reached': [450, '4.7.1'],
  // RFC 6531 §3.5: UTF-8 address without SMTPUTF8.
  'smtputf8-required': [553, '5.6.7'],
};
