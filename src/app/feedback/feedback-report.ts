import type { BounceCategory, OutcomeKind, SmtpReply } from '../../core/delivery/bounce-rules.ts';
import type { Field } from './field-blocks.ts';

/**
 * What an inbound message at the feedback listener turned out to be. Every input gives one
 * of these, garbage included (`unparsed`): reading reports never throws.
 */
export type FeedbackReport = DsnReport | BounceReport | AutoReply | ArfReport | Unparsed;

/** RFC 3464 Action; anything else a reporting MTA writes is `unknown`. */
export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded' | 'unknown';

/** A recipient's outcome, classified by the same rules as synchronous SMTP replies. */
export interface BounceVerdict {
  outcome: OutcomeKind;
  /** null for `delivered`. */
  category: BounceCategory | null;
  /** A bounce that says the address itself is bad (so it should be suppressed). */
  hard: boolean;
  /** The reply the rules were given: the diagnostic's code, the Status as enhanced code. */
  reply: SmtpReply;
}

export interface RecipientStatus {
  finalRecipient: string | null;
  originalRecipient: string | null;
  action: DsnAction;
  /** RFC 3463 status, "5.1.1". */
  status: string | null;
  /** "550 5.1.1 <jane@example.org>: Recipient address rejected: User unknown". */
  diagnostic: string | null;
  /** "smtp", "x-unix", … */
  diagnosticType: string | null;
  remoteMta: string | null;
  verdict: BounceVerdict;
}

/** The headers of the message a report is about, when the report carries them. */
export interface OriginalMessage {
  /** As written, with its angle brackets. */
  messageId: string | null;
  /** The envelope sender the receiver recorded: our VERP address when it left through us. */
  returnPath: string | null;
  from: string | null;
  to: string[];
  subject: string | null;
  headers: Field[];
}

export interface DsnReport {
  kind: 'dsn';
  reportingMta: string | null;
  arrivalDate: string | null;
  /** Per-message fields (Reporting-MTA, X-Postfix-Queue-ID, Original-Envelope-Id, …). */
  fields: Field[];
  recipients: RecipientStatus[];
  original: OriginalMessage | null;
}

export type BounceFormat = 'exchange' | 'qmail' | 'postfix' | 'gmail' | 'generic';

/** A bounce without a delivery-status part: only its human-readable text was read. */
export interface BounceReport {
  kind: 'bounce';
  format: BounceFormat;
  recipients: RecipientStatus[];
  original: OriginalMessage | null;
}

/** An out-of-office or other automatic answer: it says nothing about deliverability. */
export interface AutoReply {
  kind: 'auto-reply';
  /** What gave it away: `auto-submitted: auto-replied`, `subject`, … */
  signal: string;
  from: string | null;
  subject: string | null;
  inReplyTo: string | null;
}

/** RFC 5965 feedback report (a complaint when its type is `abuse` or `fraud`). */
export interface ArfReport {
  kind: 'arf';
  /** abuse | fraud | virus | other | not-spam | auth-failure, lower-cased as written. */
  feedbackType: string;
  userAgent: string | null;
  version: string | null;
  originalMailFrom: string | null;
  originalRcptTo: string[];
  arrivalDate: string | null;
  sourceIp: string | null;
  reportedDomain: string | null;
  fields: Field[];
  original: OriginalMessage | null;
}

export interface Unparsed {
  kind: 'unparsed';
  reason: string;
}

export const reportKinds = ['dsn', 'bounce', 'auto-reply', 'arf', 'unparsed'] as const satisfies readonly FeedbackReport['kind'][];
