import { useEffect, useRef, useState, type ReactElement } from 'react';
import { api, onSignedOut } from './api.ts';
import { Link } from './link.tsx';
import { match, navigate, usePath } from './router.ts';
import { SignIn } from './pages/sign-in.tsx';
import { Fleet } from './pages/fleet.tsx';
import { InstancePage } from './pages/instance.tsx';
import { Infrastructures } from './pages/infrastructures.tsx';
import { Programs } from './pages/programs.tsx';
import { ProgramPage } from './pages/program.tsx';
import { Notices } from './pages/notices.tsx';
import { Delivery } from './pages/delivery.tsx';
import { Nodes } from './pages/nodes.tsx';
import { Domains } from './pages/domains.tsx';

const sections = [
  { href: '/fleet', label: 'Fleet' },
  { href: '/infrastructures', label: 'Infrastructures' },
  { href: '/programs', label: 'Programs' },
  { href: '/notices', label: 'Notices' },
  { href: '/delivery', label: 'Delivery' },
  { href: '/nodes', label: 'Nodes' },
  { href: '/domains', label: 'Domains' },
];

function route(path: string): { title: string; page: ReactElement } {
  const instance = match('/fleet/:name', path);
  if (instance) return { title: instance.name, page: <InstancePage name={instance.name} /> };
  const program = match('/programs/:name', path);
  if (program) return { title: program.name, page: <ProgramPage name={program.name} /> };
  if (path.startsWith('/infrastructures')) return { title: 'Infrastructures', page: <Infrastructures /> };
  if (path.startsWith('/programs')) return { title: 'Programs', page: <Programs /> };
  if (path.startsWith('/notices')) return { title: 'Notices', page: <Notices /> };
  if (path.startsWith('/delivery')) return { title: 'Delivery', page: <Delivery /> };
  if (path.startsWith('/nodes')) return { title: 'Nodes', page: <Nodes /> };
  if (path.startsWith('/domains')) return { title: 'Sending domains', page: <Domains /> };
  return { title: 'Fleet', page: <Fleet /> };
}

export function App() {
  const path = usePath();
  const [signedIn, setSignedIn] = useState<boolean | undefined>(undefined);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    api('/api/session').then(
      () => setSignedIn(true),
      () => setSignedIn(false),
    );
    return onSignedOut(() => setSignedIn(false));
  }, []);

  const { title, page } = route(path);
  useEffect(() => {
    document.title = `${title} · mailshift`;
  }, [title]);
  // Move focus to the new page's heading so keyboard and screen-reader users follow navigation.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new path is the trigger; the effect reads the DOM it rendered
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [path]);

  if (signedIn === undefined) return <p className="loading">Loading…</p>;
  if (!signedIn)
    return (
      <SignIn
        onSignedIn={() => {
          setSignedIn(true);
          if (path === '/' || path === '/sign-in') navigate('/fleet');
        }}
      />
    );

  const signOut = async () => {
    await api('/api/session', { method: 'DELETE' }).catch(() => undefined);
    setSignedIn(false);
  };

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">mailshift</span>
        <nav aria-label="Sections">
          <ul>
            {sections.map((s) => (
              <li key={s.href}>
                <Link href={s.href} aria-current={path.startsWith(s.href) || (path === '/' && s.href === '/fleet') ? 'page' : undefined}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main}>
        {page}
      </main>
    </>
  );
}
