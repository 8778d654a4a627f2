import { useMemo, useState } from 'react';
import { admin, api } from '../api.ts';
import { count, time } from '../format.ts';
import type { ConsoleNotices, Notice } from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';

export function Notices() {
  const { data, error } = usePoll(() => api<ConsoleNotices>(admin('/notices?limit=500')), 5000, []);
  const [customer, setCustomer] = useState('');
  const [kind, setKind] = useState('');
  const [selected, setSelected] = useState<number>();

  const rows = useMemo(() => (data?.notices ?? []).filter((n) => (!customer || n.customer === customer) && (!kind || n.kind === kind)), [data, customer, kind]);
  const customers = [...new Set(data?.notices.map((n) => n.customer) ?? [])].sort();
  const shown = rows.find((n) => n.id === selected) ?? rows.find((n) => n.state === 'sent');

  return (
    <>
      <PageTitle sub="Every notice to customers, as each contact received it: in their language and time zone.">Notices</PageTitle>
      <Problem error={error} />
      <form className="filters" aria-label="Filter notices" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="n-customer">Customer</label>
          <select id="n-customer" value={customer} onChange={(e) => setCustomer(e.target.value)}>
            <option value="">All</option>
            {customers.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="n-kind">Kind</label>
          <select id="n-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">All</option>
            {['scheduled', 'reminder', 'started', 'completed', 'rolled-back'].map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </div>
      </form>
      {data && rows.length === 0 && <Empty>No notice yet: publishing a program queues them.</Empty>}
      {rows.length > 0 && (
        <div className="split">
          <table className="data outbox">
            <caption className="visually-hidden">Outbox</caption>
            <thead>
              <tr>
                <th scope="col">Due</th>
                <th scope="col">Customer · to</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((n) => (
                <tr key={n.id} className={shown?.id === n.id ? 'selected' : undefined}>
                  <td>{time(n.dueAt)}</td>
                  <td>
                    <button type="button" className="link" aria-pressed={shown?.id === n.id} onClick={() => setSelected(n.id)}>
                      {n.customer} · {n.to}
                    </button>
                    <span className="note">
                      {' '}
                      {n.locale} · {n.timezone} · wave {n.wave}
                    </span>
                  </td>
                  <td>{n.kind}</td>
                  <td>
                    <Badge state={n.state} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <section className="mail" aria-label="Notice as received" aria-live="polite">
            {shown ? <MailView notice={shown} /> : <Empty>Select a notice.</Empty>}
          </section>
        </div>
      )}
      {data && <p className="note">{count(data.notices.length)} notices in the outbox.</p>}
    </>
  );
}

function MailView({ notice }: { notice: Notice }) {
  if (notice.state !== 'sent' || notice.body === null)
    return <p>Not sent yet: due {time(notice.dueAt)}. It is rendered from its template when it is sent, so the customer sees the latest window and counts.</p>;
  return (
    <article>
      <dl className="headers">
        <dt>To</dt>
        <dd>{notice.to}</dd>
        <dt>Subject</dt>
        <dd>{notice.subject}</dd>
        <dt>Sent</dt>
        <dd>{time(notice.sentAt)}</dd>
        <dt>Program</dt>
        <dd>
          {notice.program}, wave {notice.wave}
        </dd>
      </dl>
      <pre className="body">{notice.body}</pre>
    </article>
  );
}
