import { useState, type FormEvent } from 'react';
import { admin, api, enc } from '../api.ts';
import { count, duration, percent, time } from '../format.ts';
import { Link } from '../link.tsx';
import type {
  EventRow,
  InstanceDetail,
  InstanceUpgradeStatus,
  OpenSwitches,
  Pending,
  Reputation,
  Resumed,
  StatusTokenIssued,
  SuppressionList,
} from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';
import { queueDepth, sendingState } from './fleet.tsx';

export function InstancePage({ name }: { name: string }) {
  const path = admin(`/instances/${enc(name)}`);
  const { data, error, reload } = usePoll(
    async () => {
      const [instance, pending, suppressions, upgrade, switches, reputation] = await Promise.all([
        api<InstanceDetail>(path),
        api<Pending>(`${path}/pending?limit=50`),
        api<SuppressionList>(`${path}/suppressions`),
        api<InstanceUpgradeStatus>(`${path}/upgrade`),
        api<OpenSwitches>(admin('/switches/open')),
        api<Reputation>(`${path}/reputation`),
      ]);
      return {
        instance,
        pending,
        suppressions: suppressions.suppressions,
        upgrade,
        open: switches.switches.find((s) => s.instance === name),
        reputation,
      };
    },
    3000,
    [name],
  );
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const [message, setMessage] = useState<string>();
  const [reason, setReason] = useState('');
  const [statusLink, setStatusLink] = useState<string>();

  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      setMessage(await what());
      reload();
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const suspend = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      await api(`${path}/suspend`, { method: 'POST', body: { reason: reason || 'operator' } });
      return `${name} is suspended: its mail is held and no attempt is burned.`;
    });
  };
  const resume = () =>
    act(async () => {
      const r = await api<Resumed>(`${path}/resume`, { method: 'POST', body: {} });
      return `${name} resumed: ${count(r.released)} deliveries released after ${duration(r.heldMs)}.`;
    });
  const createStatusLink = () =>
    act(async () => {
      const r = await api<StatusTokenIssued>(admin(`/customers/${enc(data!.instance.customer)}/status-token`), { method: 'POST', body: {} });
      setStatusLink(`${location.origin}${r.page}`);
      return `A new status link for ${data!.instance.customer}; the previous one no longer opens.`;
    });

  // The crumbs and title stay the same elements once the data arrives, so focus stays on the h1.
  const head = (
    <>
      <p className="crumbs">
        <Link href="/fleet">Fleet</Link> ›
      </p>
      <PageTitle
        sub={data && `${data.instance.customer} · ${data.instance.productLine} · ${data.instance.environment} · infrastructure ${data.instance.infrastructure}`}
      >
        {name}
      </PageTitle>
      <Problem error={error} />
    </>
  );
  if (!data) return <>{head}</>;
  const { instance, pending, suppressions, upgrade, open, reputation } = data;
  const state = sendingState(instance, open);

  return (
    <>
      {head}
      {instance.suspended && (instance.suspendedReason ?? '').startsWith('reputation:') && (
        <p className="error" role="alert">
          Suspended automatically for its complaint rate: {instance.suspendedReason?.replace(/^reputation:\s*/, '')}. Its mail is held; resume it once the cause
          is fixed.
        </p>
      )}
      <section className="cards" aria-label="Summary">
        <div className="card">
          <h2>Sending</h2>
          <p className="big">
            <Badge state={state} />
          </p>
          {instance.suspended && (
            <p className="note">
              since {time(instance.suspendedAt)} — {instance.suspendedReason}
            </p>
          )}
        </div>
        <div className="card">
          <h2>Queue</h2>
          <p className="big">{count(queueDepth(instance))}</p>
          <p className="note">
            {count(instance.queue?.delivered)} delivered · {count(instance.queue?.bounced)} bounced · {count(instance.queue?.expired)} expired
          </p>
        </div>
        <div className="card">
          <h2>Reputation</h2>
          <p className="big">{percent(reputation.day.complaintRate, reputation.day.deliveries)}</p>
          <p className="note">
            complaints, 24 h: {count(reputation.day.complaints)} of {count(reputation.day.deliveries)} deliveries · hard bounces{' '}
            {percent(reputation.day.hardBounceRate, reputation.day.deliveries)} · unsubscribes{' '}
            {percent(reputation.day.unsubscribeRate, reputation.day.deliveries)}
          </p>
          <p className="note">
            7 d: {count(reputation.week.deliveries)} deliveries · complaints {percent(reputation.week.complaintRate, reputation.week.deliveries)} · hard bounces{' '}
            {percent(reputation.week.hardBounceRate, reputation.week.deliveries)} · unsubscribes{' '}
            {percent(reputation.week.unsubscribeRate, reputation.week.deliveries)}
          </p>
        </div>
        <div className="card">
          <h2>Upgrade</h2>
          {upgrade.state === 'not-scheduled' ? (
            <p>None scheduled</p>
          ) : (
            <>
              <p className="big">
                <Badge state={upgrade.state} />
              </p>
              <p className="note">
                <Link href={`/programs/${enc(upgrade.program!)}`}>{upgrade.program}</Link>, wave {upgrade.wave}: {time(upgrade.window?.start)} –{' '}
                {time(upgrade.window?.end)}
                {upgrade.switchedAt && `; switched ${time(upgrade.switchedAt)}, paused ${duration(upgrade.pausedMs)}, ${count(upgrade.released)} released`}
              </p>
            </>
          )}
        </div>
      </section>

      <section aria-labelledby="actions">
        <h2 id="actions">Actions</h2>
        <div className="actions">
          {instance.suspended ? (
            <button type="button" onClick={resume} disabled={busy}>
              Resume sending
            </button>
          ) : (
            <form className="inline" onSubmit={suspend}>
              <label htmlFor="suspend-reason">Reason</label>
              <input id="suspend-reason" value={reason} placeholder="operator" onChange={(e) => setReason(e.target.value)} />
              <button type="submit" className="warn" disabled={busy}>
                Suspend sending
              </button>
            </form>
          )}
          <button type="button" className="secondary" onClick={createStatusLink} disabled={busy}>
            New status link for {instance.customer}
          </button>
        </div>
        <div aria-live="polite">
          {message && <p className="notice-ok">{message}</p>}
          {statusLink && (
            <p>
              Status page: <a href={statusLink}>{statusLink}</a>
            </p>
          )}
        </div>
        <Problem error={actionError} />
      </section>

      <section aria-labelledby="held">
        <h2 id="held">
          {instance.suspended ? 'Held messages' : 'Queued deliveries'} ({count(pending.scheduled)})
        </h2>
        {pending.deliveries.length === 0 ? (
          <Empty>Nothing waiting.</Empty>
        ) : (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Recipient</th>
                <th scope="col">From</th>
                <th scope="col">Message</th>
                <th scope="col">State</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Accepted</th>
                <th scope="col">Last reply</th>
              </tr>
            </thead>
            <tbody>
              {pending.deliveries.map((d) => (
                <tr key={d.id}>
                  <td>{d.recipient}</td>
                  <td>{d.mailFrom}</td>
                  <td className="mono">{d.messageId}</td>
                  <td>{instance.suspended && d.state === 'scheduled' ? 'held' : d.state}</td>
                  <td className="num">{d.attempts}</td>
                  <td>{time(d.createdAt)}</td>
                  <td>{d.lastReply ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="events">
        <h2 id="events">Recent events</h2>
        {instance.recentEvents.length === 0 ? (
          <Empty>No events yet.</Empty>
        ) : (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">Event</th>
                <th scope="col">Recipient</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {instance.recentEvents.map((e) => (
                <tr key={e.id}>
                  <td>{time(e.at)}</td>
                  <td>
                    <Badge state={e.type} />
                  </td>
                  <td>{e.recipient ?? '—'}</td>
                  <td className="detail">{eventDetail(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="suppressions">
        <h2 id="suppressions">Suppression list ({count(suppressions.length)})</h2>
        {suppressions.length === 0 ? (
          <Empty>No suppressed address.</Empty>
        ) : (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Reason</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {suppressions.map((s) => (
                <tr key={s.address}>
                  <td>{s.address}</td>
                  <td>{s.reason}</td>
                  <td>{time(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function eventDetail(e: EventRow): string {
  const d = e.detail;
  if (typeof d.reply === 'string') return `${d.async === true ? 'after delivery: ' : ''}${d.reply}${typeof d.category === 'string' ? ` (${d.category})` : ''}`;
  return Object.entries(d)
    .filter(([, v]) => typeof v !== 'object')
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ');
}
