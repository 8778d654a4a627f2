import { admin, api } from '../api.ts';
import { count, duration, time } from '../format.ts';
import type { ClusterView } from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';

/** How long ago, from the browser's clock: a hint next to the UTC time, never below zero. */
const ago = (iso: string) => `${duration(Math.max(0, Date.now() - Date.parse(iso)))} ago`;

export function Nodes() {
  const { data, error } = usePoll(() => api<ClusterView>(admin('/nodes')), 5000, []);
  const leader = data?.nodes.find((n) => n.leader);
  return (
    <>
      <PageTitle sub="The mailshift processes sharing this database: which are alive, which one leads, and the deliveries each holds.">Nodes</PageTitle>
      <Problem error={error} />
      {data && (
        <p className="summary" aria-live="polite">
          {leader ? (
            <>
              Leader: <span className="mono">{leader.id}</span>
              {data.epoch === null ? '' : ` (epoch ${data.epoch})`}.
            </>
          ) : (
            'No node leads at the moment: upgrade waves, notices, webhooks and retention wait for one.'
          )}{' '}
          {count(data.nodes.filter((n) => n.alive).length)} of {count(data.nodes.length)} alive.
        </p>
      )}
      {data && data.nodes.length === 0 && <Empty>No node has registered yet.</Empty>}
      {data && data.nodes.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">Nodes</caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Host · PID</th>
              <th scope="col">Version</th>
              <th scope="col">Roles</th>
              <th scope="col">State</th>
              <th scope="col">Last seen</th>
              <th scope="col">Started</th>
              <th scope="col" className="num">
                Claims
              </th>
            </tr>
          </thead>
          <tbody>
            {data.nodes.map((n) => (
              <tr key={n.id}>
                <th scope="row" className="mono">
                  {n.id}
                  {n.id === data.self && <span className="note"> (this node)</span>}
                </th>
                <td>
                  {n.host} · {n.pid}
                </td>
                <td>{n.version}</td>
                <td>{n.roles.join(', ')}</td>
                <td>
                  <Badge state={n.alive ? 'alive' : 'dead'} /> {n.leader && <Badge state="leader" />}
                </td>
                <td>
                  {time(n.lastSeenAt)}
                  <br />
                  <span className="note">{ago(n.lastSeenAt)}</span>
                </td>
                <td>{time(n.startedAt)}</td>
                <td className="num">{count(n.claims)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && <p className="note">Stopped nodes stay listed for an hour after they stop.</p>}
    </>
  );
}
