import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, statusKb, stopChild } from './proc.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const adminToken = 'bench-admin-token-c83f1a6e97d2b450';

export interface MailshiftServer {
  pid: number;
  smtpPort: number;
  /** GET /api/admin/v1/queue → total. */
  queueTotals(): Promise<Record<string, number>>;
  /** VmHWM of the server process, in kB. */
  peakRssKb(): number;
  /** Last lines of the server's log (for error reports). */
  logTail(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `node bin/mailshift.js serve` on a fresh data directory (SQLite, the durable
 * defaults) and sets up one instance that may inject from loopback without AUTH, on an
 * infrastructure relaying to the sink.
 */
export async function startMailshiftServer(sinkPort: number): Promise<MailshiftServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-bench-'));
  const [smtpPort, httpPort, capturePort] = [await freePort(), await freePort(), await freePort()];
  const logPath = join(dataDir, 'server.log');
  const logFd = openSync(logPath, 'a');
  // e.g. MAILSHIFT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server.
  const nodeArgs = (process.env.MAILSHIFT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, join(repoRoot, 'bin/mailshift.js'), 'serve'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      MAILSHIFT_DATA_DIR: dataDir,
      MAILSHIFT_SMTP_PORT: String(smtpPort),
      MAILSHIFT_HTTP_PORT: String(httpPort),
      MAILSHIFT_CAPTURE_PORT: String(capturePort),
      MAILSHIFT_ADMIN_TOKEN: adminToken,
      MAILSHIFT_LOG_LEVEL: process.env.MAILSHIFT_LOG_LEVEL ?? 'warn',
      // As `npm start` runs it (see the README's memory note).
      MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '8192',
    },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const logTail = () => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(log gone)';
    }
  };

  const url = `http://127.0.0.1:${httpPort}/api/admin/v1`;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };

  const stop = async () => {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mailshift exited with ${child.exitCode}:\n${logTail()}`);
      if (
        await admin('GET', '/queue').then(
          () => true,
          () => false,
        )
      )
        break;
      if (Date.now() > deadline) throw new Error(`mailshift did not answer on ${url}:\n${logTail()}`);
      await sleep(100);
    }
    await admin('POST', '/customers', { name: 'bench', contacts: [{ email: 'ops@bench.example' }] });
    await admin('POST', '/infrastructures', { name: 'bench-sink', relays: [`127.0.0.1:${sinkPort}`] });
    await admin('POST', '/instances', {
      name: 'bench',
      customer: 'bench',
      productLine: 'managed-cloud',
      environment: 'production',
      infrastructure: 'bench-sink',
      allowFrom: ['127.0.0.0/8'],
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: child.pid!,
    smtpPort,
    queueTotals: async () => (await admin('GET', '/queue')).total,
    peakRssKb: () => statusKb(child.pid!, 'VmHWM'),
    logTail,
    stop,
  };
}
