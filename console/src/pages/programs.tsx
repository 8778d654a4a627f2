import { useEffect, useState, type FormEvent } from 'react';
import { admin, api, enc } from '../api.ts';
import { isoToUtcInput, time, utcInputToIso } from '../format.ts';
import { Link } from '../link.tsx';
import { navigate } from '../router.ts';
import type { Infrastructure, InfrastructureList, ProgramCreated, ProgramList } from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';

const day = 86_400_000;
const productLines = ['classic-managed', 'managed-cloud', 'standard-on-demand'];

export function Programs() {
  const { data, error } = usePoll(() => api<ProgramList>(admin('/programs')), 5000, []);
  return (
    <>
      <PageTitle sub="Moving instances from one infrastructure to another, in waves.">Programs</PageTitle>
      <Problem error={error} />
      {data && data.programs.length === 0 && <Empty>No program yet: create one below.</Empty>}
      {data && data.programs.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">Programs</caption>
          <thead>
            <tr>
              <th scope="col">Program</th>
              <th scope="col">From → to</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {data.programs.map((p) => (
              <tr key={p.name}>
                <td>
                  <Link href={`/programs/${enc(p.name)}`}>{p.name}</Link>
                </td>
                <td>
                  {p.from} → {p.to}
                </td>
                <td>
                  <Badge state={p.state} />
                </td>
                <td>{time(p.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ProgramForm />
    </>
  );
}

function ProgramForm() {
  const [infras, setInfras] = useState<Infrastructure[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const now = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
  const [f, setF] = useState({
    name: '',
    from: '',
    to: '',
    products: [...productLines],
    nonprodStart: isoToUtcInput(now + 8 * day),
    prodStart: isoToUtcInput(now + 31 * day),
    waveSize: '50',
    concurrency: '5',
    hours: '',
    switchEstimate: '30s',
    drainAllowance: '5m',
    haltThreshold: '10',
    supportContact: '',
  });
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF((old) => ({ ...old, [k]: e.target.value }));

  useEffect(() => {
    api<InfrastructureList>(admin('/infrastructures')).then(
      (r) => {
        setInfras(r.infrastructures);
        setF((old) => ({ ...old, from: old.from || r.infrastructures[0]?.name || '', to: old.to || r.infrastructures[1]?.name || '' }));
      },
      (e) => setError(String(e.message ?? e)),
    );
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: Record<string, unknown> = {
        name: f.name.trim(),
        from: f.from,
        to: f.to,
        products: f.products,
        nonprodStart: utcInputToIso(f.nonprodStart),
        prodStart: utcInputToIso(f.prodStart),
        waveSize: Number(f.waveSize),
        concurrency: Number(f.concurrency),
        switchEstimate: f.switchEstimate.trim(),
        drainAllowance: f.drainAllowance.trim(),
        haltThreshold: Number(f.haltThreshold) / 100,
      };
      if (f.hours.trim()) body.hours = f.hours.trim();
      if (f.supportContact.trim()) body.supportContact = f.supportContact.trim();
      const created = await api<ProgramCreated>(admin('/programs'), { method: 'POST', body });
      navigate(`/programs/${enc(created.name)}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const toggleProduct = (p: string) =>
    setF((old) => ({ ...old, products: old.products.includes(p) ? old.products.filter((x) => x !== p) : [...old.products, p] }));

  return (
    <section aria-labelledby="new-program">
      <h2 id="new-program">New program</h2>
      <form className="grid-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor="p-name">Name</label>
          <input id="p-name" required maxLength={63} value={f.name} onChange={set('name')} />
        </div>
        <div className="field">
          <label htmlFor="p-from">From infrastructure</label>
          <select id="p-from" required value={f.from} onChange={set('from')}>
            {infras.map((i) => (
              <option key={i.name}>{i.name}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="p-to">To infrastructure</label>
          <select id="p-to" required value={f.to} onChange={set('to')}>
            {infras.map((i) => (
              <option key={i.name}>{i.name}</option>
            ))}
          </select>
        </div>
        <fieldset className="field wide">
          <legend>Product lines</legend>
          {productLines.map((p) => (
            <label key={p} className="check">
              <input type="checkbox" checked={f.products.includes(p)} onChange={() => toggleProduct(p)} /> {p}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="p-nonprod">Non-production start (UTC)</label>
          <input id="p-nonprod" type="datetime-local" required value={f.nonprodStart} onChange={set('nonprodStart')} />
        </div>
        <div className="field">
          <label htmlFor="p-prod">Production start (UTC)</label>
          <input id="p-prod" type="datetime-local" required value={f.prodStart} onChange={set('prodStart')} />
        </div>
        <div className="field">
          <label htmlFor="p-hours">Allowed hours (UTC)</label>
          <input id="p-hours" placeholder="all day, or 22:00-06:00" value={f.hours} onChange={set('hours')} />
        </div>
        <div className="field">
          <label htmlFor="p-wave">Wave size</label>
          <input id="p-wave" type="number" min="1" required value={f.waveSize} onChange={set('waveSize')} />
        </div>
        <div className="field">
          <label htmlFor="p-concurrency">Concurrency</label>
          <input id="p-concurrency" type="number" min="1" required value={f.concurrency} onChange={set('concurrency')} />
        </div>
        <div className="field">
          <label htmlFor="p-estimate">Switch estimate per instance</label>
          <input id="p-estimate" required value={f.switchEstimate} onChange={set('switchEstimate')} />
        </div>
        <div className="field">
          <label htmlFor="p-drain">Drain allowance</label>
          <input id="p-drain" required value={f.drainAllowance} onChange={set('drainAllowance')} />
        </div>
        <div className="field">
          <label htmlFor="p-halt">Halt threshold (%)</label>
          <input id="p-halt" type="number" min="0" max="100" required value={f.haltThreshold} onChange={set('haltThreshold')} />
        </div>
        <div className="field">
          <label htmlFor="p-support">Support contact</label>
          <input id="p-support" placeholder="server default" value={f.supportContact} onChange={set('supportContact')} />
        </div>
        <div className="field wide">
          <Problem error={error} />
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create program and preview plan'}
          </button>
        </div>
      </form>
    </section>
  );
}
