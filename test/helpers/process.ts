import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  /** Settles when the process has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  /** The last lines the process wrote to stdout and stderr, for failure messages. */
  output(): string;
  /** Sends `signal` (default SIGKILL) if the process still runs, and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `node bin/mailshift.js serve` in a child process with `env` on top of this process's
 * environment (minus any MAILSHIFT_* variables, so the caller's settings are the only ones).
 */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MAILSHIFT_')));
  const child = spawn(process.execPath, ['bin/mailshift.js', 'serve'], {
    cwd: projectRoot,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      alive = false;
      tail += `\nspawn error: ${err.message}`;
      resolve({ code: null, signal: null });
    });
  });
  return {
    child,
    exited,
    get alive() {
      return alive;
    },
    output: () => tail,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (alive) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `<url>/healthz` until it answers 200; fails early if the process exits. */
export async function waitForHealthy(url: string, server: ServerProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!server.alive) throw new Error(`the server exited before it was healthy:\n${server.output()}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server was not healthy after ${timeoutMs} ms (${last}):\n${server.output()}`);
}

/** `n` distinct loopback ports that were free a moment ago (all held at once, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const server = createServer();
      return new Promise<{ server: typeof server; port: number }>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
        });
      });
    }),
  );
  await Promise.all(servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return servers.map(({ port }) => port);
}

/**
 * The environment of a `mailshift serve` child on free loopback ports over `dataDir`, and
 * its HTTP base URL; `extra` adds or overrides settings.
 */
export async function serverEnv(
  dataDir: string,
  adminToken: string,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; url: string }> {
  const [smtp, http, capture] = await freePorts(3);
  const env = {
    MAILSHIFT_DATA_DIR: dataDir,
    MAILSHIFT_SMTP_PORT: String(smtp),
    MAILSHIFT_HTTP_PORT: String(http),
    MAILSHIFT_CAPTURE_PORT: String(capture),
    MAILSHIFT_FEEDBACK_PORT: '0',
    MAILSHIFT_ADMIN_TOKEN: adminToken,
    MAILSHIFT_LOG_LEVEL: 'warn',
    ...extra,
  };
  return { env, url: `http://127.0.0.1:${http}` };
}
