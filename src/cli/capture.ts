import { InvalidArgumentError, type Command } from 'commander';
import type { CaptureList } from '../http/schemas/capture.ts';
import { callAndPrint, table, type ApiClient } from './api-client.ts';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function addCaptureCommands(program: Command, api: ApiClient): void {
  const capture = program.command('capture').description('inspect mail caught by the built-in capture server');

  capture
    .command('list')
    .description('list captured messages, newest first')
    .option('--limit <n>', 'how many messages', positiveInteger)
    .option('--json', 'print JSON')
    .action((opts: { limit?: number; json?: boolean }) =>
      callAndPrint<CaptureList>(api, { path: ['capture', 'messages'], query: { limit: opts.limit } }, opts, ({ messages }) =>
        table([
          ['ID', 'RECEIVED', 'FROM', 'TO', 'SIZE', 'SUBJECT'],
          ...messages.map((m) => [m.id, m.receivedAt, m.mailFrom, (m.recipients ?? []).join(','), m.size, m.subject]),
        ]),
      ),
    );
}
