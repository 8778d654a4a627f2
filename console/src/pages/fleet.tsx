import { useMemo, useState } from 'react';
import { admin, api } from '../api.ts';
import { count, percent } from '../format.ts';
import { Link } from '../link.tsx';
import type { InstanceList, InstanceRow, OpenSwitch, OpenSwitches, ReputationReport } from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';

export type SendingState = 'sending' | 'suspended' | 'switching';

// A switch that has started its steps: pre-check through resume, or a rollback.
const switchingStates = new Set(['prechecking', 'suspending', 'draining', 'rebinding', 'verifying', 'resuming', 'rolling-back']);

export function sendingState(i: InstanceRow, open: OpenSwitch | undefined): SendingState {
  if (open && switchingStates.has(open.state)) return 'switching';
  return i.suspended ? 'suspended' : 'sending';
}

export const queueDepth = (i: InstanceRow) => (i.queue ? i.queue.scheduled + i.queue.inflight : 0);

export function Fleet() {
  const { data, error } = usePoll(
    async () => {
      const [instances, switches, reputation] = await Promise.all([
        api<InstanceList>(admin('/instances')),
        api<OpenSwitches>(admin('/switches/open')),
        api<ReputationReport>(admin('/reputation')),
      ]);
      return { instances: instances.instances.filter((i) => i.name !== 'mailshift-notices'), switches: switches.switches, reputation };
    },
    3000,
    [],
  );
  const [search, setSearch] = useState('');
  const [product, setProduct] = useState('');
  const [environment, setEnvironment] = useState('');
  const [infrastructure, setInfrastructure] = useState('');
  const [state, setState] = useState('');

  const rows = useMemo(() => {
    if (!data) return [];
    const open = new Map(data.switches.map((s) => [s.instance, s]));
    const q = search.trim().toLowerCase();
    return data.instances
      .map((i) => ({ ...i, state: sendingState(i, open.get(i.name)), upgrade: open.get(i.name) }))
      .filter(
        (i) =>
          (!q || i.name.toLowerCase().includes(q) || i.customer.toLowerCase().includes(q)) &&
          (!product || i.productLine === product) &&
          (!environment || i.environment === environment) &&
          (!infrastructure || i.infrastructure === infrastructure) &&
          (!state || i.state === state),
      );
  }, [data, search, product, environment, infrastructure, state]);

  const infras = [...new Set(data?.instances.map((i) => i.infrastructure) ?? [])].sort();
  const reputation = new Map(data?.reputation.instances.map((r) => [r.name, r.day]) ?? []);
  const totals = rows.reduce((a, i) => a + queueDepth(i), 0);

  return (
    <>
      <PageTitle sub="Every instance, where it sends from and what it is holding.">Fleet</PageTitle>
      <Problem error={error} />
      {data && data.reputation.alerts.length > 0 && (
        <div className="error" role="alert">
          <p>Suspended for their complaint rate (resume them on their page once the cause is fixed):</p>
          <ul>
            {data.reputation.alerts.map((a) => (
              <li key={a.instance}>
                <Link href={`/fleet/${encodeURIComponent(a.instance)}`}>{a.instance}</Link> — {a.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
      <form className="filters" aria-label="Filter instances" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="fleet-search">Search</label>
          <input id="fleet-search" type="search" placeholder="Instance or customer" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <Select
          id="fleet-product"
          label="Product line"
          value={product}
          onChange={setProduct}
          options={['classic-managed', 'managed-cloud', 'standard-on-demand']}
        />
        <Select id="fleet-environment" label="Environment" value={environment} onChange={setEnvironment} options={['development', 'staging', 'production']} />
        <Select id="fleet-infrastructure" label="Infrastructure" value={infrastructure} onChange={setInfrastructure} options={infras} />
        <Select id="fleet-state" label="Sending state" value={state} onChange={setState} options={['sending', 'suspended', 'switching']} />
      </form>
      {data && (
        <p className="summary" aria-live="polite">
          {count(rows.length)} of {count(data.instances.length)} instances · {count(totals)} deliveries queued
        </p>
      )}
      {data && rows.length === 0 ? (
        <Empty>No instance matches.</Empty>
      ) : (
        <table className="data">
          <caption className="visually-hidden">Instances</caption>
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Customer</th>
              <th scope="col">Product line</th>
              <th scope="col">Environment</th>
              <th scope="col">Infrastructure</th>
              <th scope="col">Sending</th>
              <th scope="col" className="num">
                Queue
              </th>
              <th scope="col" className="num">
                Complaints 24 h
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i) => (
              <tr key={i.name}>
                <td>
                  <Link href={`/fleet/${encodeURIComponent(i.name)}`}>{i.name}</Link>
                </td>
                <td>{i.customer}</td>
                <td>{i.productLine}</td>
                <td>{i.environment}</td>
                <td>{i.infrastructure}</td>
                <td>
                  <Badge state={i.state} />
                  {i.upgrade && i.state !== 'switching' && <span className="note"> upgrade in wave {i.upgrade.wave}</span>}
                </td>
                <td className="num">{count(queueDepth(i))}</td>
                <td className="num">{complaints(reputation.get(i.name))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** "0.31% (3 of 970)", or a dash for an instance without deliveries in 24 h. */
function complaints(day: ReputationReport['instances'][number]['day'] | undefined): string {
  if (!day || day.deliveries === 0) return '—';
  return `${percent(day.complaintRate, day.deliveries)} (${count(day.complaints)} of ${count(day.deliveries)})`;
}

function Select({ id, label, value, onChange, options }: { id: string; label: string; value: string; onChange: (v: string) => void; options: string[] }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">All</option>
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </div>
  );
}
