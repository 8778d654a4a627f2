import { useRef, useState } from 'react';
import { admin, api, enc } from '../api.ts';
import { count, duration, time } from '../format.ts';
import { Link } from '../link.tsx';
import type { Plan, ProgramStatus } from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';
import { WaveTimeline } from './wave-timeline.tsx';

export function ProgramPage({ name }: { name: string }) {
  const base = admin(`/programs/${enc(name)}`);
  const { data, error, reload } = usePoll(
    async () => {
      const status = await api<ProgramStatus>(`${base}/status`);
      const plan = status.state === 'draft' ? await api<Plan>(`${base}/plan`) : undefined;
      return { status, plan };
    },
    1000,
    [name],
  );
  return (
    <>
      <p className="crumbs">
        <Link href="/programs">Programs</Link> ›
      </p>
      <PageTitle sub={data ? `${data.status.from} → ${data.status.to} · support contact ${data.status.supportContact}` : undefined}>
        Program {name} {data && <Badge state={data.status.state} />}
      </PageTitle>
      <Problem error={error} />
      {data?.plan && <PlanPreview plan={data.plan} base={base} onPublished={reload} />}
      {data && !data.plan && <Progress status={data.status} />}
    </>
  );
}

function PlanPreview({ plan, base, onPublished }: { plan: Plan; base: string; onPublished: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const instances = plan.waves.reduce((a, w) => a + w.instances.length, 0);

  const publish = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api(`${base}/publish`, { method: 'POST', body: {} });
      dialog.current?.close();
      onPublished();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="plan">
      <h2 id="plan">Plan preview</h2>
      <p>
        {count(plan.waves.length)} waves for {count(instances)} instances, {time(plan.start)} to {time(plan.end)}; about {duration(plan.perInstanceMs)} per
        instance. Nothing is locked until you publish.
      </p>
      {plan.notes.length > 0 && (
        <ul className="notes">
          {plan.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <WaveTimeline waves={plan.waves.map((w) => ({ ...w, instances: w.instances.length }))} />
      <table className="data">
        <caption className="visually-hidden">Planned waves</caption>
        <thead>
          <tr>
            <th scope="col">Wave</th>
            <th scope="col">Phase</th>
            <th scope="col">Window (UTC)</th>
            <th scope="col" className="num">
              Estimate
            </th>
            <th scope="col">Instances</th>
          </tr>
        </thead>
        <tbody>
          {plan.waves.map((w) => (
            <tr key={w.index}>
              <td>{w.index}</td>
              <td>{w.retry ? `${w.phase} (retry)` : w.phase}</td>
              <td>
                {time(w.start)} – {time(w.end)}
              </td>
              <td className="num">{duration(w.estimateMs)}</td>
              <td>{w.instances.length === 0 ? <span className="note">only for switches that roll back</span> : w.instances.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" onClick={() => dialog.current?.showModal()} disabled={instances === 0}>
          Publish…
        </button>
        {instances === 0 && <span className="note">No instance to move.</span>}
      </div>
      <dialog ref={dialog} aria-labelledby="confirm-title" aria-describedby="confirm-text">
        <h2 id="confirm-title">Publish program {plan.program}?</h2>
        <p id="confirm-text">
          This locks the schedule of {count(plan.waves.length)} waves for {count(instances)} instances and queues notices to every affected customer. Customers
          cannot move their slot afterwards.
        </p>
        <Problem error={error} />
        <div className="actions">
          <button type="button" onClick={publish} disabled={busy}>
            {busy ? 'Publishing…' : 'Publish and notify customers'}
          </button>
          {/* biome-ignore lint/a11y/noAutofocus: in a confirmation that notifies every customer, the safe choice takes the focus */}
          <button type="button" className="secondary" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
        </div>
      </dialog>
    </section>
  );
}

function Progress({ status }: { status: ProgramStatus }) {
  const by = (state: string) => status.instances.filter((i) => i.state === state).length;
  const done = status.waves.filter((w) => w.state === 'completed').length;
  const rolledBack = by('rolled-back') + by('failed');
  return (
    <>
      {status.haltedReason && (
        <p className="error" role="alert">
          Halted: {status.haltedReason}
        </p>
      )}
      <section className="cards" aria-label="Progress">
        <div className="card">
          <h2>Waves completed</h2>
          <p className="big">
            {done} / {status.waves.length}
          </p>
        </div>
        <div className="card">
          <h2>Instances switched</h2>
          <p className="big">
            {by('completed')} / {status.instances.length}
          </p>
        </div>
        <div className="card">
          <h2>Rolled back</h2>
          <p className="big">{rolledBack}</p>
        </div>
        <div className="card">
          <h2>Published</h2>
          <p>{time(status.publishedAt)}</p>
        </div>
      </section>
      <WaveTimeline waves={status.waves} />

      <section aria-labelledby="waves">
        <h2 id="waves">Waves</h2>
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Phase</th>
              <th scope="col">Window (UTC)</th>
              <th scope="col" className="num">
                Instances
              </th>
              <th scope="col">State</th>
              <th scope="col" className="num">
                Estimate
              </th>
              <th scope="col" className="num">
                Actual
              </th>
              <th scope="col">Estimate vs actual</th>
            </tr>
          </thead>
          <tbody>
            {status.waves.map((w) => (
              <tr key={w.index} data-wave={w.index} data-state={w.state}>
                <td>{w.index}</td>
                <td>{w.retry ? `${w.phase} (retry)` : w.phase}</td>
                <td>
                  {time(w.start)} – {time(w.end)}
                </td>
                <td className="num">{w.instances}</td>
                <td>
                  <Badge state={w.state} />
                </td>
                <td className="num">{duration(w.estimateMs)}</td>
                <td className="num">{duration(w.actualMs)}</td>
                <td>
                  <EstimateBar estimate={w.estimateMs} actual={w.actualMs} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="switches">
        <h2 id="switches">Instances</h2>
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col" className="num">
                Wave
              </th>
              <th scope="col">Switch</th>
              <th scope="col" className="num">
                Attempts
              </th>
              <th scope="col">Switched</th>
              <th scope="col" className="num">
                Sending paused
              </th>
              <th scope="col" className="num">
                Held, released
              </th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {status.instances.map((i) => (
              <tr key={i.name}>
                <td>
                  <Link href={`/fleet/${enc(i.name)}`}>{i.name}</Link>
                </td>
                <td className="num">{i.wave}</td>
                <td>
                  <Badge state={i.state} />
                </td>
                <td className="num">{i.attempts}</td>
                <td>{time(i.switchedAt)}</td>
                <td className="num">{duration(i.pausedMs)}</td>
                <td className="num">{count(i.released)}</td>
                <td>{i.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="requests">
        <h2 id="requests">Reschedule and opt-out requests</h2>
        {status.requests.length === 0 ? (
          <Empty>No request received.</Empty>
        ) : (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">Instance</th>
                <th scope="col">Request</th>
                <th scope="col">Reason given</th>
                <th scope="col">Answer</th>
              </tr>
            </thead>
            <tbody>
              {status.requests.map((r) => (
                <tr key={`${r.at}-${r.instance}-${r.kind}`}>
                  <td>{time(r.at)}</td>
                  <td>{r.instance}</td>
                  <td>{r.kind}</td>
                  <td>{r.reason}</td>
                  <td className="answer">{r.answer}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function EstimateBar({ estimate, actual }: { estimate: number; actual: number | null }) {
  const max = Math.max(estimate, actual ?? 0, 1);
  return (
    <span className="vs" role="img" aria-label={actual === null ? 'not run yet' : `actual ${Math.round((100 * actual) / estimate)}% of the estimate`}>
      <span className="vs-estimate" style={{ width: `${(100 * estimate) / max}%` }} />
      {actual !== null && <span className={`vs-actual ${actual > estimate ? 'over' : ''}`} style={{ width: `${(100 * actual) / max}%` }} />}
    </span>
  );
}
