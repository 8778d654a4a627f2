/**
 * What a notice tells a customer about a wave, and where it is in its delivery. Here in
 * core because the store's columns hold them as well as the notice templates.
 */
export const noticeKinds = ['scheduled', 'reminder', 'started', 'completed', 'rolled-back'] as const;
export type NoticeKind = (typeof noticeKinds)[number];

export const noticeStates = ['pending', 'sent', 'cancelled'] as const;
export type NoticeState = (typeof noticeStates)[number];
