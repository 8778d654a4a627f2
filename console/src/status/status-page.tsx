import { useEffect, useState } from 'react';
// The status API's own schema (an allow-list): type-only, erased from the bundle.
import type { CustomerInstanceStatus as InstanceStatus, StatusPage as Status } from '../../../src/http/schemas/status-page.ts';
import { languageOf, messages, sentMessages, text, type Language, type StatusText } from './status-text.ts';

type Loaded = { kind: 'loading' } | { kind: 'invalid' } | { kind: 'error'; message: string } | { kind: 'ok'; status: Status; at: number };

/** The customer's own page: only what /api/status/v1/<token> returns, never the operator session. */
export function StatusPage({ token }: { token: string }) {
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const load = async () => {
      try {
        const res = await fetch(`/api/status/v1/${encodeURIComponent(token)}`, { credentials: 'omit', headers: { accept: 'application/json' } });
        if (!live) return;
        if (res.status === 404) setLoaded({ kind: 'invalid' });
        else if (!res.ok) setLoaded({ kind: 'error', message: `HTTP ${res.status}` });
        else setLoaded({ kind: 'ok', status: (await res.json()) as Status, at: Date.now() });
      } catch (e) {
        if (live) setLoaded({ kind: 'error', message: String(e) });
      }
      if (live) timer = setTimeout(load, 10_000);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [token]);

  const browser = languageOf(navigator.language);
  if (loaded.kind !== 'ok') {
    const t = text[browser];
    return (
      <main className="status" id="main">
        <h1>{t.title}</h1>
        {loaded.kind === 'loading' && <p>{t.loading}</p>}
        {loaded.kind === 'invalid' && <p role="alert">{t.invalid}</p>}
        {loaded.kind === 'error' && <p role="alert">{loaded.message}</p>}
      </main>
    );
  }
  return <StatusView status={loaded.status} at={loaded.at} />;
}

function StatusView({ status, at }: { status: Status; at: number }) {
  const language: Language = languageOf(status.locale);
  const locale = status.locale || language;
  const zone = validZone(status.timezone);
  const t = text[language];
  const when = (iso: string | null | undefined) => (iso ? formatTime(iso, locale, zone) : '—');
  useEffect(() => {
    document.documentElement.lang = language;
    document.title = `${t.title} · ${status.customer}`;
  }, [language, status.customer, t.title]);
  const support = status.instances.find((i) => i.supportContact)?.supportContact;

  return (
    <main className="status" id="main">
      <header>
        <h1>{t.title}</h1>
        <p className="intro">{t.intro(status.customer)}</p>
        <p className="zone">{t.timesIn(zone)}</p>
      </header>
      {status.instances.map((i) => (
        <article key={i.instance} className={`instance ${i.state}`} aria-labelledby={`i-${i.instance}`}>
          <div className="head">
            <h2 id={`i-${i.instance}`}>
              {i.instance} <span className="env">({t.environment[i.environment] ?? i.environment})</span>
            </h2>
            <span className={`state ${i.state}`}>{t.state[i.state] ?? i.state}</span>
          </div>
          <p className="message">{stateMessage(i, t, language, locale, when)}</p>
          {i.window?.start && (
            <dl>
              <dt>{t.window}</dt>
              <dd>
                {when(i.window.start)} – {when(i.window.end)}
              </dd>
              <dt>{t.estimate}</dt>
              <dd>{t.about(formatDuration(i.estimateMs ?? 0, t))}</dd>
            </dl>
          )}
          {i.window?.start && (
            <section className="history" aria-label={`${t.history}: ${i.instance}`}>
              <h3>{t.history}</h3>
              <ol>
                {history(i, t, when).map((h) => (
                  <li key={h}>{h}</li>
                ))}
              </ol>
            </section>
          )}
        </article>
      ))}
      <footer>
        <p>{t.noAction}</p>
        {support && (
          <p>
            {t.support} <a href={/^https?:/.test(support) ? support : `mailto:${support}`}>{support}</a>
          </p>
        )}
        <p className="updated">{t.updated(formatTime(new Date(at).toISOString(), locale, zone))}</p>
      </footer>
    </main>
  );
}

function stateMessage(i: InstanceStatus, t: StatusText, language: Language, locale: string, when: (iso: string | null | undefined) => string): string {
  switch (i.state) {
    case 'sending-paused':
      return t.paused(messages(language, i.held ?? 0, locale));
    case 'completed':
      if (!i.released) return t.completedNothingHeld(when(i.switchedAt ?? i.actualEnd), formatDuration(i.pausedMs ?? 0, t));
      return t.completed(when(i.switchedAt ?? i.actualEnd), formatDuration(i.pausedMs ?? 0, t), sentMessages(language, i.released, locale));
    case 'rolled-back':
      return t.rolledBack;
    case 'scheduled':
      return t.scheduled;
    default:
      return t.notScheduled;
  }
}

function history(i: InstanceStatus, t: StatusText, when: (iso: string | null | undefined) => string): string[] {
  const items: string[] = [t.announced(when(i.window!.start), when(i.window!.end))];
  if (i.actualStart) items.push(t.started(when(i.actualStart)));
  if (i.switchedAt) items.push(t.switched(when(i.switchedAt)));
  if (i.actualEnd) items.push(t.finished(when(i.actualEnd)));
  return items;
}

function validZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}

function formatTime(iso: string, locale: string, zone: string): string {
  try {
    return new Intl.DateTimeFormat(locale, { timeZone: zone, dateStyle: 'full', timeStyle: 'short' }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat('en', { timeZone: zone, dateStyle: 'full', timeStyle: 'short' }).format(new Date(iso));
  }
}

function formatDuration(ms: number, t: StatusText): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} ${t.duration.s}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} ${t.duration.min}`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} ${t.duration.h} ${m % 60} ${t.duration.min}` : `${h} ${t.duration.h}`;
}
