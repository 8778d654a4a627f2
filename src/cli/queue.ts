import type { Command } from 'commander';
import { deliveryStates as queueStates, type QueueCounts, type QueueView } from '../http/schemas/queue.ts';
import { callAndPrint, table, type ApiClient } from './api-client.ts';

export { queueStates };

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
      callAndPrint<QueueView>(api, { path: ['queue'] }, opts, (body) =>
        table([
          ['INSTANCE', ...queueStates.map((s) => s.toUpperCase())],
          ...Object.entries(body.instances ?? {}).map(([name, counts]) => [name, ...queueRow(counts)]),
          ['(total)', ...queueRow(body.total)],
        ]),
      ),
    );
}
