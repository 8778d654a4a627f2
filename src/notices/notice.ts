/** What a notice tells a customer about a wave, and the words it is rendered in. */

import type { NoticeKind } from '../core/upgrade/notice-kinds.ts';

export { noticeKinds, type NoticeKind } from '../core/upgrade/notice-kinds.ts';

/** Languages with a full set of templates; any other locale falls back to the first. */
export const noticeLanguages = ['en', 'es'] as const;
export type NoticeLanguage = (typeof noticeLanguages)[number];

export interface NoticeInstance {
  name: string;
  /** `development` | `staging` | `production`; anything else is printed as given. */
  environment: string;
}

export interface NoticeInput {
  kind: NoticeKind;
  /** The contact's BCP 47 locale, e.g. `es-MX`; `es_MX` is accepted too. */
  locale: string;
  /** The contact's IANA time zone; an unknown zone falls back to UTC (and the notice says so). */
  timezone: string;
  customerName: string;
  programName: string;
  /** This customer's instances in the wave. */
  instances: NoticeInstance[];
  /** The announced window, epoch ms. */
  windowStart: number;
  windowEnd: number;
  /** Estimated duration of the wave. */
  estimateMs: number;
  supportContact: string;
  /** `completed`: held messages released after the switch. */
  heldReleased?: number;
  /** `rolled-back`: why the switch was undone. */
  reason?: string;
  /** `reminder`: how long before the window this reminder is due ("in 72 hours"). */
  reminderLeadMs?: number;
}

export interface RenderedNotice {
  /** One line, no control characters. */
  subject: string;
  /** Plain text body ending in a single newline. */
  text: string;
  /** Not produced yet: notices are plain text. */
  html?: string;
}
