import { useState } from 'react';
import { admin, api, enc } from '../api.ts';
import type { DomainCheck, DomainList } from '../types.ts';
import { usePoll } from '../use-poll.ts';
import { Badge, Empty, PageTitle, Problem } from './common.tsx';

/** Customers' sending domains, and a check of SPF, DKIM and DMARC over DNS on demand. */
export function Domains() {
  const { data, error } = usePoll(() => api<DomainList>(admin('/domains')), 10_000, []);
  const [check, setCheck] = useState<DomainCheck>();
  const [checking, setChecking] = useState<string>();
  const [checkError, setCheckError] = useState<string>();

  async function run(domain: string) {
    setChecking(domain);
    setCheckError(undefined);
    try {
      setCheck(await api<DomainCheck>(admin(`/domains/${enc(domain)}/check`)));
    } catch (e) {
      setCheckError(e instanceof Error ? e.message : String(e));
    } finally {
      setChecking(undefined);
    }
  }

  return (
    <>
      <PageTitle sub="Domains the customers send as; mail is DKIM-signed only as a verified domain of the sender's own customer.">Sending domains</PageTitle>
      <Problem error={error} />
      {data && data.domains.length === 0 && <Empty>No sending domain yet (mailshift domain add).</Empty>}
      {data && data.domains.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">Sending domains</caption>
          <thead>
            <tr>
              <th scope="col">Domain</th>
              <th scope="col">Customer</th>
              <th scope="col">Ownership</th>
              <th scope="col">Authentication</th>
            </tr>
          </thead>
          <tbody>
            {data.domains.map((d) => (
              <tr key={d.domain}>
                <th scope="row">{d.domain}</th>
                <td>{d.customer}</td>
                <td>
                  <Badge state={d.verified ? 'verified' : 'pending'} />
                  {!d.verified && (
                    <span className="note mono">
                      {' '}
                      TXT {d.verifyName} "{d.verifyValue}"
                    </span>
                  )}
                </td>
                <td>
                  <button type="button" className="secondary" onClick={() => run(d.domain)} disabled={checking !== undefined}>
                    {checking === d.domain ? 'Checking…' : `Check ${d.domain}`}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Problem error={checkError} />
      {check && (
        <section aria-live="polite" aria-label={`Authentication of ${check.domain}`}>
          <h2>
            {check.domain} <Badge state={check.ok ? 'passed' : 'failed'} />
          </h2>
          <p className="note">Against {check.infrastructure ?? 'no infrastructure'}.</p>
          <dl className="checks">
            {(
              [
                ['SPF', check.spf],
                ['DKIM', check.dkim],
                ['DMARC', check.dmarc],
              ] as const
            ).map(([name, verdict]) => (
              <div key={name}>
                <dt>
                  {name} <Badge state={verdict.ok ? 'passed' : 'failed'} />
                </dt>
                <dd>{verdict.detail}</dd>
              </div>
            ))}
          </dl>
          {check.dkim.records.length > 0 && (
            <ul>
              {check.dkim.records.map((r) => (
                <li key={r.selector}>
                  <span className="mono">{r.dnsName}</span> ({r.algorithm}, {r.state}): <Badge state={r.ok ? 'passed' : 'failed'} /> {r.detail}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </>
  );
}
