/**
 * Injection latency, delivery latency (acceptance to the sink: the claim and the send) and
 * memory with a spool full of deferred deliveries, against an empty spool.
 *
 *   npm run bench -- --backlog N [--messages 400] [--postgres URL]
 *   node --import tsx bench/backlog.ts [N=200000] [--messages 400] [--postgres URL]
 *
 * The backlog is written straight through the store (one instance, due in an hour, as if
 * deferred by a 451 relay); then `mailshift serve` runs on that database and another
 * instance injects one-recipient messages over HTTP, one at a time, to a loopback sink.
 * Prints figures; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { openStore } from '../src/store/database.ts';
import { FleetRepository } from '../src/store/fleet-repository.ts';
import { SpoolRepository } from '../src/store/spool-repository.ts';
import { freePort, serverEntry, serverNodeFlags, sleep, statusKb, stopChild } from './proc.ts';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const backlog = Number(option('backlog') ?? argv.find((a) => /^\d+$/.test(a)) ?? 200_000);
const injections = Number(option('messages') ?? 400);
const postgres = option('postgres');
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const adminToken = `bench-${randomBytes(16).toString('hex')}`;
const log = (s: string) => process.stderr.write(s + '\n');

interface Figures {
  backlog: number;
  p50Ms: number;
  p99Ms: number;
  /** From the 202 to the message's arrival at the sink. */
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  rssMb: number;
  peakRssMb: number;
}

/** When each probe (by its subject's number) reached the sink. */
const arrivals = new Map<number, number>();

async function sink(): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData: (s, _x, cb) => {
      let head = '';
      s.on('data', (chunk: Buffer) => {
        if (head.length < 4096) head += chunk.toString('latin1');
      });
      s.on('end', () => {
        const m = /^Subject: probe (\d+)/im.exec(head);
        if (m) arrivals.set(Number(m[1]), performance.now());
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** N deliveries of one instance, scheduled an hour ahead with one attempt behind them. */
async function fill(url: string, schema: string | undefined, n: number, relayPort: number): Promise<void> {
  const store = await openStore({ url, schema });
  const fleet = new FleetRepository(store.db);
  const spool = new SpoolRepository(store.db, store.dialect);
  const now = Date.now();
  const customer = await fleet.createCustomer('backlog', [], now);
  const infra = await fleet.createInfrastructure({
    name: 'deferring',
    deliveryMode: 'relay',
    relays: [{ host: '127.0.0.1', port: relayPort }],
    sourceAddresses: [],
    heloName: 'bench.localhost',
    dkim: [],
    shaping: [],
    verificationAddress: 'verify@bench.example',
    createdAt: now,
  });
  const instance = await fleet.createInstance({
    name: 'backlog',
    customerId: customer.id,
    productLine: 'managed-cloud',
    environment: 'production',
    infrastructureId: infra.id,
    allowFrom: [],
    createdAt: now,
  });
  const started = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const count = Math.min(1000, n - i);
    await spool.commit(
      [
        {
          id: `backlog-${i}`,
          instanceId: instance.id,
          mailFrom: 'news@shop.example',
          raw: Buffer.from(`Subject: backlog ${i}\r\n\r\nHello\r\n`),
          headerMessageId: null,
          recipients: Array.from({ length: count }, (_, k) => ({
            address: `r${i + k}@deferring${k % 50}.example`,
            domain: `deferring${k % 50}.example`,
            suppressed: null,
          })),
        },
      ],
      now,
      now + 3 * 86_400_000,
    );
  }
  await store.db
    .updateTable('deliveries')
    .set({ due_at: now + 3_600_000, attempts: 1, last_reply: '451 4.3.0 try again later', last_category: 'other' })
    .where('instance_id', '=', instance.id)
    .execute();
  log(`  filled ${n} deferred deliveries in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await store.close();
}

async function run(n: number, relayPort: number): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-backlog-'));
  const schema = postgres ? `bench_${randomBytes(4).toString('hex')}` : undefined;
  const url = postgres ?? join(dataDir, 'mailshift.db');
  await fill(url, schema, n, relayPort);
  const httpPort = await freePort();
  // e.g. MAILSHIFT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server.
  const nodeArgs = (process.env.MAILSHIFT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...serverNodeFlags, ...nodeArgs, serverEntry(), 'serve'], {
    cwd: repoRoot,
    stdio: 'ignore',
    env: {
      ...process.env,
      MAILSHIFT_DATA_DIR: dataDir,
      MAILSHIFT_DATABASE_URL: url,
      ...(schema ? { MAILSHIFT_DATABASE_SCHEMA: schema } : {}),
      MAILSHIFT_HTTP_PORT: String(httpPort),
      MAILSHIFT_SMTP_PORT: String(await freePort()),
      MAILSHIFT_CAPTURE_PORT: String(await freePort()),
      MAILSHIFT_FEEDBACK_PORT: '0',
      MAILSHIFT_ADMIN_TOKEN: adminToken,
      MAILSHIFT_LOG_LEVEL: 'warn',
    },
  });
  try {
    const base = `http://127.0.0.1:${httpPort}`;
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text);
    };
    for (let up = false; !up; ) {
      if (child.exitCode !== null) throw new Error(`mailshift exited with ${child.exitCode}`);
      up = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!up) await sleep(100);
    }
    await call(adminToken, 'POST', '/api/admin/v1/infrastructures', { name: 'sink', relays: [`127.0.0.1:${relayPort}`] });
    const created = await call(adminToken, 'POST', '/api/admin/v1/instances', {
      name: 'probe',
      customer: 'backlog',
      productLine: 'managed-cloud',
      environment: 'production',
      infrastructure: 'sink',
    });
    const key: string = created.credentials.apiKey;
    const send = (i: number) =>
      call(key, 'POST', '/api/v1/messages', { from: 'news@shop.example', to: [`p${i}@probe.example`], subject: `probe ${i}`, text: 'x' });
    for (let i = 0; i < 50; i++) await send(i); // warm-up
    await sleep(1000);
    const times: number[] = [];
    const accepted = new Map<number, number>();
    arrivals.clear();
    for (let i = 0; i < injections; i++) {
      const t = performance.now();
      await send(1000 + i);
      accepted.set(1000 + i, performance.now());
      times.push(performance.now() - t);
    }
    for (let waited = 0; arrivals.size < injections && waited < 30_000; waited += 100) await sleep(100);
    if (arrivals.size < injections) log(`  warning: ${injections - arrivals.size} probes did not reach the sink in 30 s`);
    const delivery = [...accepted].filter(([i]) => arrivals.has(i)).map(([i, t]) => arrivals.get(i)! - t);
    const at = (list: number[], q: number) => {
      const sorted = [...list].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    };
    return {
      backlog: n,
      p50Ms: at(times, 0.5),
      p99Ms: at(times, 0.99),
      deliveryP50Ms: at(delivery, 0.5),
      deliveryP99Ms: at(delivery, 0.99),
      rssMb: statusKb(child.pid!, 'VmRSS') / 1024,
      peakRssMb: statusKb(child.pid!, 'VmHWM') / 1024,
    };
  } finally {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) {
      const store = await openStore({ url: url, schema });
      await store.db.schema
        .dropSchema(schema)
        .cascade()
        .execute()
        .catch(() => undefined);
      await store.close();
    }
  }
}

const relay = await sink();
try {
  log(`backlog bench: ${injections} sequential HTTP injections, ${postgres ? 'PostgreSQL' : 'SQLite'}`);
  const empty = await run(0, relay.port);
  const full = await run(backlog, relay.port);
  const pct = (a: number, b: number) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(0)}%`;
  const columns: [string, (f: Figures) => number][] = [
    ['inject p50 ms', (f) => f.p50Ms],
    ['inject p99 ms', (f) => f.p99Ms],
    ['deliver p50 ms', (f) => f.deliveryP50Ms],
    ['deliver p99 ms', (f) => f.deliveryP99Ms],
    ['RSS MB', (f) => f.rssMb],
    ['peak RSS MB', (f) => f.peakRssMb],
  ];
  const cell = (text: string, i: number) => text.padStart(columns[i]![0].length + 2);
  console.log(`${'backlog'.padEnd(10)}${columns.map(([name], i) => cell(name, i)).join('')}`);
  for (const f of [empty, full]) console.log(`${String(f.backlog).padEnd(10)}${columns.map(([, get], i) => cell(get(f).toFixed(1), i)).join('')}`);
  console.log(`${'change'.padEnd(10)}${columns.map(([, get], i) => cell(pct(get(empty), get(full)), i)).join('')}`);
} finally {
  await relay.close();
}
