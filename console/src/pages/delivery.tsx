import { useState } from 'react';
import { admin, api } from '../api.ts';
import { Bars, LineChart, StackedBars } from '../charts.tsx';
import { count, time } from '../format.ts';
import type { QueueCounts, QueueDomains, QueueView, Timeline } from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Empty, PageTitle, Problem } from './common.tsx';

const ranges = [
  { hours: 1, label: 'Last hour' },
  { hours: 6, label: 'Last 6 hours' },
  { hours: 24, label: 'Last 24 hours' },
  { hours: 168, label: 'Last 7 days' },
];

export const colors = {
  accepted: '#4b6fd1',
  delivered: '#2f8a4c',
  deferred: '#d49a1c',
  bounced: '#c2413b',
  expired: '#7a4fb0',
  suppressed: '#7d8590',
  scheduled: '#4b6fd1',
  inflight: '#2aa1b3',
};

export function Delivery() {
  const [hours, setHours] = useState(24);
  const { data, error } = usePoll(
    async () => {
      const [timeline, queue, domains] = await Promise.all([
        api<Timeline>(admin(`/delivery/timeline?hours=${hours}&buckets=48`)),
        api<QueueView>(admin('/queue')),
        api<QueueDomains>(admin('/queue/domains?limit=25')),
      ]);
      return { timeline, queue, domains: domains.domains };
    },
    5000,
    [hours],
  );
  const labels = data?.timeline.buckets.map((b) => b.start) ?? [];
  const series = (keys: (keyof typeof colors)[]) =>
    keys.map((k) => ({ name: k, color: colors[k], values: data!.timeline.buckets.map((b) => (b as unknown as Record<string, number>)[k] ?? 0) }));

  return (
    <>
      <PageTitle sub="Throughput and outcomes over time, and what is waiting to be sent.">Delivery</PageTitle>
      <Problem error={error} />
      <div className="filters">
        <div className="field">
          <label htmlFor="d-range">Period</label>
          <select id="d-range" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {ranges.map((r) => (
              <option key={r.hours} value={r.hours}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {data && (
        <>
          <p className="note">
            {time(data.timeline.since)} to {time(data.timeline.until)}, in buckets of {Math.round(data.timeline.bucketMs / 60_000)} minutes.
          </p>
          <div className="charts">
            <LineChart title="Throughput: messages accepted and delivered per bucket" labels={labels} series={series(['accepted', 'delivered'])} />
            <StackedBars title="Outcomes per bucket" labels={labels} series={series(['delivered', 'deferred', 'bounced', 'expired', 'suppressed'])} />
          </div>
          <div className="columns">
            <section aria-labelledby="by-state">
              <h2 id="by-state">Queue by state</h2>
              <Bars
                label="Deliveries per state"
                rows={(Object.keys(data.queue.total) as (keyof QueueCounts)[]).map((k) => ({ name: k, value: data.queue.total[k], color: colors[k] }))}
              />
            </section>
            <section aria-labelledby="by-domain">
              <h2 id="by-domain">Queue by destination domain</h2>
              {data.domains.length === 0 ? (
                <Empty>Nothing waiting: every delivery has an outcome.</Empty>
              ) : (
                <table className="data">
                  <thead>
                    <tr>
                      <th scope="col">Domain</th>
                      <th scope="col" className="num">
                        Scheduled
                      </th>
                      <th scope="col" className="num">
                        In flight
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.domains.map((d) => (
                      <tr key={d.domain}>
                        <td>{d.domain}</td>
                        <td className="num">{count(d.scheduled)}</td>
                        <td className="num">{count(d.inflight)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      )}
    </>
  );
}
