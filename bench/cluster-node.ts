import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, serverEntry, serverNodeFlags, sleep, statusKb, stopChild } from './proc.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const adminToken = 'bench-admin-token-c83f1a6e97d2b450';
/** The domain of the injectors' From (bench/inject.ts). */
export const benchSenderDomain = 'sender.example';

export interface NodeOptions {
  /** Extra environment: the database, PGAPPNAME, time to live and lease. */
  env: Record<string, string>;
}

export interface ClusterNode {
  readonly pid: number;
  readonly smtpPort: number;
  admin(method: string, path: string, body?: unknown): Promise<any>;
  /** VmHWM of the node's process, in kB (0 once it is gone). */
  peakRssKb(): number;
  logTail(): string;
  /** SIGKILL, no clean stop: its claims stay in the database as a crash leaves them. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One `mailshift serve` on its own data directory and ports, as bench/mailshift.ts starts
 * it (durable defaults, warn-level log), with `options.env` on top; waits until its admin
 * API answers.
 */
export async function startNode(options: NodeOptions): Promise<ClusterNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-cluster-'));
  const [smtpPort, httpPort, capturePort] = [await freePort(), await freePort(), await freePort()];
  const logPath = join(dataDir, 'server.log');
  const logFd = openSync(logPath, 'a');
  // e.g. MAILSHIFT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile every node.
  const nodeArgs = (process.env.MAILSHIFT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...serverNodeFlags, ...nodeArgs, serverEntry(), 'serve'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      MAILSHIFT_DATA_DIR: dataDir,
      MAILSHIFT_SMTP_PORT: String(smtpPort),
      MAILSHIFT_HTTP_PORT: String(httpPort),
      MAILSHIFT_CAPTURE_PORT: String(capturePort),
      MAILSHIFT_FEEDBACK_PORT: '0',
      MAILSHIFT_ADMIN_TOKEN: adminToken,
      MAILSHIFT_LOG_LEVEL: process.env.MAILSHIFT_LOG_LEVEL ?? 'warn',
      MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
      ...options.env,
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
  let peak = 0;
  const peakRssKb = () => {
    peak = Math.max(peak, statusKb(child.pid!, 'VmHWM'));
    return peak;
  };
  const remove = () => rmSync(dataDir, { recursive: true, force: true });
  const stop = async () => {
    peakRssKb();
    await stopChild(child);
    remove();
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
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: child.pid!,
    smtpPort,
    admin,
    peakRssKb,
    logTail,
    async kill() {
      peakRssKb();
      await stopChild(child, 'SIGKILL');
    },
    stop,
  };
}

/**
 * The instance the benchmark injects into: loopback may relay without AUTH, through an
 * infrastructure relaying to the sink. `dkim`: the injectors' sender domain is the
 * customer's, verified, with an RSA-2048 key, so every message leaves signed.
 */
export async function configure(node: ClusterNode, sinkPort: number, options: { dkim?: boolean } = {}): Promise<void> {
  await node.admin('POST', '/customers', { name: 'bench', contacts: [{ email: 'ops@bench.example' }] });
  if (options.dkim) {
    await node.admin('POST', '/domains', { domain: benchSenderDomain, customer: 'bench', verified: true });
    await node.admin('POST', '/dkim', { domain: benchSenderDomain, customer: 'bench', algorithm: 'rsa', bits: 2048 });
  }
  await node.admin('POST', '/infrastructures', { name: 'bench-sink', relays: [`127.0.0.1:${sinkPort}`] });
  await node.admin('POST', '/instances', {
    name: 'bench',
    customer: 'bench',
    productLine: 'managed-cloud',
    environment: 'production',
    infrastructure: 'bench-sink',
    allowFrom: ['127.0.0.0/8'],
  });
}
