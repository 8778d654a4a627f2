import type { Command } from 'commander';
import { callAndPrint, table, type ApiClient } from './api-client.ts';
import type { MessageView } from '../http/schemas/messages.ts';
import { messageId } from './cli-names.ts';

type Cell = string | number | boolean | null | undefined;

/** Keys of the first row, as a table of every row. */
function rowsOf(items: Record<string, unknown>[]): string {
  if (items.length === 0) return '  (none)';
  const keys = Object.keys(items[0] ?? {});
  return table([keys, ...items.map((item) => keys.map((k) => cell(item[k])))])
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function cell(value: unknown): Cell {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : (value as Cell);
}

export function addMessageCommands(program: Command, api: ApiClient): void {
  const message = program.command('message').description('inspect messages');

  message
    .command('show <id>')
    .description('show a message, its deliveries and its events')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) =>
      callAndPrint<MessageView>(api, { path: ['messages', messageId(id)] }, opts, (body) =>
        [
          ...Object.entries(body.message ?? {}).map(([key, value]) => `${key}: ${cell(value) ?? '-'}`),
          'deliveries:',
          rowsOf(body.deliveries ?? []),
          'events:',
          rowsOf(body.events ?? []),
        ].join('\n'),
      ),
    );
}
