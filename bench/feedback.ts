/**
 * Feedback listener throughput: DSNs (the Postfix, Exchange and Gmail fixtures, in turn)
 * sent over SMTP by a nodemailer pool to the listener running in its own process, each
 * parsed and recorded before its 250: the listener's port is mailshift's own feedback
 * service over a SQLite spool whose deliveries are all `delivered`, so every DSN turns one
 * into `bounced` (async) with its event, suppression, reputation count and report record,
 * one transaction each. Also the parser alone, in this process.
 *
 *   node --import tsx bench/feedback.ts [--messages N] [--connections C] [--json]
 *   npm run bench -- --feedback [--messages N]    (also run at the end of `npm run bench`)
 *
 * Prints figures; asserts nothing about speed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { sql } from 'kysely';
import { parseFeedback } from '../src/app/feedback/parse-feedback.ts';
import { VerpCodec } from '../src/app/feedback/verp.ts';
import { derivedKey } from '../src/app/secret-key.ts';
import { loadConfig } from '../src/config.ts';
import { composeMailshift } from '../src/main.ts';
import { feedbackServerDefaults, startFeedbackServer } from '../src/smtp/feedback-server.ts';
import { systemClock } from '../src/system-clock.ts';
import { hostCpu, stopChild, TreeSampler } from './proc.ts';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
// Fixed: the listener runs in a child process (--serve) and must sign and read the same addresses.
const secretKeyHex = '3f9a1c7e5b2d8046e1f3a5c7092b4d6f8e0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e';
const secretKey = Buffer.from(secretKeyHex, 'hex');
const codec = new VerpCodec({ secrets: [derivedKey(secretKey, 'verp')] });
const domain = 'bounces.example.net';
const recipients = ['jane.doe@example.org', 'john.smith@contoso.example', 'no.such.user@gmail.com'];
const fixtures = ['postfix-dsn.eml', 'exchange-ndr.eml', 'gmail-dsn.eml'].map((f) => readFileSync(new URL(`../test/fixtures/feedback/${f}`, import.meta.url)));

if (argv.includes('--serve')) {
  // The listener's side: as in production, it has its process (and event loop) to itself.
  const total = Number(option('deliveries'));
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-bench-feedback-'));
  const config = loadConfig({ MAILSHIFT_DATA_DIR: dataDir, MAILSHIFT_SECRET_KEY: secretKeyHex, MAILSHIFT_LOG_LEVEL: 'warn' });
  const composed = await composeMailshift(config, { logger: pino({ level: 'warn' }) });
  const { fleet, acceptor } = composed.services;
  await fleet.createCustomer({ name: 'bench' });
  await fleet.createInfrastructure({ name: 'verp', relays: ['127.0.0.1:9'], bounceDomain: domain });
  const { instance } = await fleet.createInstance({
    name: 'bench',
    customer: 'bench',
    productLine: 'managed-cloud',
    environment: 'production',
    infrastructure: 'verp',
  });
  // Deliveries as the engine leaves them once the relay said 250, three recipients a message.
  for (let i = 0; i < total / 3; i++) {
    const raw = Buffer.from(`From: news@acme.example\r\nTo: list@acme.example\r\nSubject: bench ${i}\r\n\r\nHello\r\n`);
    await acceptor.accept({ instance, mailFrom: 'news@acme.example', recipients, raw }, 'http');
  }
  const db = (composed.repositories.spool as unknown as { db: import('kysely').Kysely<unknown> }).db;
  await sql`update deliveries set state = 'delivered'`.execute(db);
  const server = await startFeedbackServer(
    {
      ...feedbackServerDefaults,
      host: '127.0.0.1',
      port: 0,
      hostname: 'mx.bounces.example.net',
      greetingDelayMs: 0,
      // One loopback source sends everything here; production limits would throttle the bench.
      messageRate: { count: 1_000_000, perMs: 1000 },
      connectionRate: { count: 1_000_000, perMs: 1000 },
      maxClientsPerAddress: feedbackServerDefaults.maxClients,
    },
    composed.services.feedback,
    systemClock,
    pino({ level: 'warn' }),
  );
  process.stdout.write(`${server.port}\n`);
  process.on('SIGTERM', () => {
    void (async () => {
      await server.close();
      const counts = await sql<{ state: string; n: number }>`select state, count(*) as n from deliveries group by state`.execute(db);
      process.stderr.write(`listener: deliveries ${counts.rows.map((r) => `${r.state}=${r.n}`).join(', ')}\n`);
      await composed.closeStore();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
} else {
  const messages = Number(option('messages') ?? 5000);
  const connections = Number(option('connections') ?? 50);
  const log = (s: string) => process.stderr.write(s + '\n');

  // Parser alone, one core.
  for (let i = 0; i < 300; i++) await parseFeedback(fixtures[i % 3]);
  const parseCount = 3000;
  const cpu0 = process.cpuUsage();
  let t0 = performance.now();
  for (let i = 0; i < parseCount; i++) await parseFeedback(fixtures[i % 3]);
  const parsePerSecond = parseCount / ((performance.now() - t0) / 1000);
  const parseCpu = process.cpuUsage(cpu0);
  const parsePerCpuSecond = parseCount / ((parseCpu.user + parseCpu.system) / 1e6);

  const child = spawn(
    process.execPath,
    [
      ...(process.env.FEEDBACK_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--serve',
      '--deliveries',
      String(300 + messages + 3),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
    ignoreTLS: true,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  // Delivery i (from 1) went to recipients[(i - 1) % 3]: the fixture that bounces that recipient.
  const send = (i: number) => transport.sendMail({ envelope: { from: '', to: [codec.encode(i, domain)] }, raw: fixtures[(i - 1) % 3] });
  try {
    log(`warm-up: 300 DSNs…`);
    await Promise.all(Array.from({ length: 300 }, (_, i) => send(1 + i)));
    log(`timed: ${messages} DSNs over ${connections} connections…`);
    const sampler = new TreeSampler(() => child.pid);
    const host = hostCpu();
    sampler.start();
    t0 = performance.now();
    await Promise.all(Array.from({ length: messages }, (_, i) => send(301 + i)));
    const seconds = (performance.now() - t0) / 1000;
    const { cpuSeconds, peakRssKb } = sampler.stop();
    const result = {
      messages,
      connections,
      seconds,
      dsnPerSecond: messages / seconds,
      // Less sensitive to whatever else the machine runs than the wall-clock rate.
      dsnPerListenerCpuSecond: messages / cpuSeconds,
      listenerCpuSeconds: cpuSeconds,
      listenerPeakRssMb: peakRssKb / 1024,
      hostBusyPct: host().busyPct,
      parserAlonePerSecond: parsePerSecond,
      parserAlonePerCpuSecond: parsePerCpuSecond,
      host: { cpus: cpus().length, loadAverage1m: loadavg()[0], node: process.version },
    };
    if (argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `\nfeedback listener: ${messages} DSNs (Postfix, Exchange, Gmail fixtures) over ${connections} SMTP connections, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(1)}, node ${process.version}`,
      );
      console.log(`  parsed and recorded, over SMTP: ${result.dsnPerSecond.toFixed(0)} DSNs/s (${seconds.toFixed(2)} s)   target ≥ 500/s`);
      console.log(
        `  listener CPU: ${cpuSeconds.toFixed(2)} s → ${result.dsnPerListenerCpuSecond.toFixed(0)} DSNs per CPU-second; peak RSS ${result.listenerPeakRssMb.toFixed(0)} MB; host busy ${result.hostBusyPct.toFixed(0)}%`,
      );
      console.log(`  parser alone (in process): ${parsePerSecond.toFixed(0)} DSNs/s wall clock, ${parsePerCpuSecond.toFixed(0)} per CPU-second`);
    }
  } finally {
    transport.close();
    await stopChild(child);
  }
}
