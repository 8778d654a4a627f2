import type { Command } from 'commander';
import { callAndPrint, table, type ApiClient } from './api-client.ts';

export const queueStates = ['scheduled', 'inflight', 'delivered', 'bounced', 'expired', 'suppressed'] as const;

export type QueueCounts = Record<(typeof queueStates)[number], number>;

/** Table rows of queue counts per name, for `queue` and `instance list`. */
export function queueRow(counts: Partial<QueueCounts> | undefined): (number | undefined)[] {
  return queueStates.map((state) => counts?.[state]);
}

export function addQueueCommand(program: Command, api: ApiClient): void {
  program
    .command('queue')
    .description('show delivery counts per state, in total and per instance')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      callAndPrint<{ total: QueueCounts; instances: Record<string, QueueCounts> }>(api, { path: ['queue'] }, opts, (body) =>
        table([
          ['INSTANCE', ...queueStates.map((s) => s.toUpperCase())],
          ...Object.entries(body.instances ?? {}).map(([name, counts]) => [name, ...queueRow(counts)]),
          ['(total)', ...queueRow(body.total)],
        ]),
      ),
    );
}
