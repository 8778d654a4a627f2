import { PeriodicTask, type TaskLog } from './periodic-task.ts';

/** What the loop needs of the notice service (app/notice-service.ts). */
export interface NoticeOutbox {
  sendDue(): Promise<void>;
}

/**
 * Sends upgrade notices as they fall due: every `pollMs`, and soon after `wake()` (a
 * program published, a wave started or finished, a switch rolled back).
 */
export function noticeLoop(outbox: NoticeOutbox, log: TaskLog, pollMs: number): PeriodicTask {
  return new PeriodicTask(() => outbox.sendDue(), log, { name: 'sending notices', intervalMs: pollMs, firstRunMs: pollMs });
}
