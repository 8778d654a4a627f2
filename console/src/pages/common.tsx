import type { ReactNode } from 'react';

/** The page's one h1: focusable so navigation can move focus to it. */
export function PageTitle({ children, sub }: { children: ReactNode; sub?: ReactNode }) {
  return (
    <div className="page-title">
      <h1 tabIndex={-1}>{children}</h1>
      {sub && <p className="sub">{sub}</p>}
    </div>
  );
}

export function Problem({ error }: { error: string | undefined }) {
  return error ? (
    <p className="error" role="alert">
      {error}
    </p>
  ) : null;
}

const stateClass: Record<string, string> = {
  sending: 'ok',
  completed: 'ok',
  delivered: 'ok',
  sent: 'ok',
  passed: 'ok',
  verified: 'ok',
  alive: 'ok',
  leader: 'info',
  published: 'info',
  running: 'info',
  switching: 'info',
  scheduled: 'muted',
  draft: 'muted',
  pending: 'muted',
  suspended: 'warn',
  deferred: 'warn',
  halted: 'bad',
  dead: 'bad',
  'rolled-back': 'bad',
  'rolling-back': 'bad',
  failed: 'bad',
  bounced: 'bad',
  expired: 'bad',
  complained: 'bad',
  unsubscribed: 'warn',
  'reputation.suspended': 'bad',
};

/** A state as a word with a colour; the word alone carries the meaning. */
export function Badge({ state }: { state: string }) {
  return <span className={`badge ${stateClass[state] ?? 'info'}`}>{state}</span>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
