import { admin, api } from '../api.ts';
import { count, time } from '../format.ts';
import { usePoll } from '../use-poll.ts';
import type { InfrastructureOverview } from '../types.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';

export function Infrastructures() {
  const { data, error } = usePoll(() => api<InfrastructureOverview>(admin('/infrastructures/overview')), 5000, []);
  return (
    <>
      <PageTitle sub="Sending paths: their relays, the last pre-check of each as an upgrade target, and their throughput.">Infrastructures</PageTitle>
      <Problem error={error} />
      {data && data.infrastructures.length === 0 && <Empty>No infrastructure yet.</Empty>}
      {data && data.infrastructures.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">Infrastructures</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Relays</th>
              <th scope="col">HELO · verification</th>
              <th scope="col" className="num">
                Instances
              </th>
              <th scope="col">Last pre-check</th>
              <th scope="col" className="num">
                Delivered, last hour
              </th>
              <th scope="col" className="num">
                Deferred · bounced
              </th>
            </tr>
          </thead>
          <tbody>
            {data.infrastructures.map((i) => (
              <tr key={i.name}>
                <th scope="row">{i.name}</th>
                <td className="mono">{i.deliveryMode === 'mx' ? 'direct MX' : i.relays.join(', ')}</td>
                <td>
                  {i.heloName}
                  <br />
                  <span className="note">{i.verificationAddress}</span>
                </td>
                <td className="num">{count(i.instances)}</td>
                <td>
                  {i.lastPrecheck ? (
                    <>
                      <Badge state={i.lastPrecheck.ok ? 'passed' : 'failed'} /> {time(i.lastPrecheck.at)}
                      <br />
                      <span className="note">
                        {i.lastPrecheck.program}
                        {i.lastPrecheck.detail ? ` — ${i.lastPrecheck.detail}` : ''}
                      </span>
                    </>
                  ) : (
                    <span className="note">never a target</span>
                  )}
                </td>
                <td className="num">
                  {count(i.lastHour.delivered)}
                  {data.capped ? '+' : ''}
                </td>
                <td className="num">
                  {count(i.lastHour.deferred)} · {count(i.lastHour.bounced)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && <p className="note">Throughput since {time(data.since)}, from delivery events.</p>}
    </>
  );
}
