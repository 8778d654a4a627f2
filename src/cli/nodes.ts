import type { Command } from 'commander';
import type { ClusterView } from '../http/schemas/cluster.ts';
import { callAndPrint, table, type ApiClient } from './api-client.ts';

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

export function addNodesCommand(program: Command, api: ApiClient): void {
  program
    .command('nodes')
    .description('list the cluster\u2019s nodes (running, or stopped within the hour) and which one leads')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      callAndPrint<ClusterView>(api, { path: ['nodes'] }, opts, ({ nodes }) =>
        table([
          ['ID', 'HOST', 'ROLES', 'LEADER', 'ALIVE', 'LAST SEEN', 'CLAIMS'],
          ...nodes.map((n) => [n.id, n.host, n.roles.join(','), yesNo(n.leader), yesNo(n.alive), n.lastSeenAt, n.claims]),
        ]),
      ),
    );
}
