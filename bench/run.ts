/**
 * End-to-end throughput: N one-recipient messages injected over SMTP by 20 concurrent
 * sessions, relayed to a loopback sink; mailshift against a private Postfix when installed.
 *
 *   npm run bench -- [--dkim] [--shape reuse,per-message] [--messages N] [--sizes 2k,100k] [--warmup N] [--json] [--node-tools] [--no-postfix]
 *                    [--inject-only]   mailshift alone with MAILSHIFT_ROLES=smtp,http: the injection door's share,
 *                                      nothing delivered (what a delivery node then has left to do is the rest)
 *   npm run bench -- --database postgres [--nodes N] [--no-kill] …   (see bench/cluster.ts)
 *   npm run bench -- --backlog N [--messages 400]                     (see bench/backlog.ts)
 *   npm run bench -- --feedback [--messages N]   only the feedback listener (see bench/feedback.ts);
 *   it also runs after the end-to-end figures unless --no-feedback
 *
 * Prints figures; asserts nothing about speed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { makeInjector, sessions, shapes, smtpSourceAvailable, type Injector, type Shape } from './inject.ts';
import { startMailshiftServer } from './mailshift.ts';
import { postfixAvailable, startPostfix } from './postfix.ts';
import { hostCpu, sleep, TreeSampler } from './proc.ts';
import { postfixSinkAvailable, startSink, type Sink } from './sink.ts';

interface Result {
  shape: Shape;
  size: string;
  system: 'mailshift' | 'mailshift, inject only' | 'postfix';
  messages: number;
  seconds: number;
  injectSeconds: number;
  perSecond: number;
  injectPerSecond: number;
  peakRssMb: number;
  serverCpuSeconds: number;
  hostBusyPct: number;
  hostIowaitPct: number;
  queue?: Record<string, number>;
}

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
// `--backlog N`: injection and delivery latency with N deferred deliveries in the spool (bench/backlog.ts) instead.
if (option('backlog') !== undefined) {
  await import('./backlog.ts');
  process.exit(0);
}
// `--database postgres [--nodes N]`: SQLite against PostgreSQL on one and N nodes (bench/cluster.ts) instead.
if (option('database') !== undefined) {
  const { runClusterBench } = await import('./cluster.ts');
  await runClusterBench(argv);
  process.exit(0);
}
/** DSNs parsed and recorded per second by the feedback listener, in a process of its own. */
function runFeedbackBench(messages: string | undefined): void {
  const args = [
    '--import',
    'tsx',
    fileURLToPath(new URL('./feedback.ts', import.meta.url)),
    ...(messages ? ['--messages', messages] : []),
    ...(flag('json') ? ['--json'] : []),
  ];
  const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`bench/feedback.ts exited ${run.status}`);
}
if (flag('feedback')) {
  runFeedbackBench(option('messages'));
  process.exit(0);
}
const sizes = (option('sizes') ?? '2k,100k')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const warmup = Number(option('warmup') ?? 100);
const shapeList = (option('shape') ?? shapes.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Shape[];
for (const s of shapeList) if (!shapes.includes(s)) throw new Error(`--shape: "${s}" is not one of ${shapes.join(', ')}`);
const postfixTools = !flag('node-tools') && smtpSourceAvailable() && postfixSinkAvailable();
// Only the injection door: a node without the delivery role keeps what it accepts in the spool.
const injectOnly = flag('inject-only');
const withPostfix = !flag('no-postfix') && !injectOnly && postfixAvailable();
const json = flag('json');
// Every message DKIM-signed by mailshift (RSA-2048, the sender domain's key); Postfix signs nothing.
const dkim = flag('dkim');
const log = (s: string) => process.stderr.write(s + '\n');

// Ctrl-C must not leave a daemonized Postfix, a server or a sink behind.
const running = new Set<() => Promise<void>>();
function guarded<T extends { stop(): Promise<void> }>(thing: T): T {
  const stop = thing.stop.bind(thing);
  running.add(stop);
  return { ...thing, stop: () => (running.delete(stop), stop()) };
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    log(`${signal}: cleaning up…`);
    await Promise.allSettled([...running].map((stop) => stop()));
    process.exit(130);
  });
}

function bytesOf(size: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)b?$/i.exec(size);
  if (!m) throw new Error(`--sizes: cannot read "${size}" (use e.g. 2k,100k)`);
  return Math.round(Number(m[1]) * { '': 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase() as '' | 'k' | 'm']);
}

/**
 * Warm up, then time `count` messages from the first injection to the last one at the sink;
 * with no sink (a server that delivers nothing), to the last 250.
 */
async function measure(port: number, sink: Sink | null, injector: Injector, shape: Shape, count: number, bytes: number, sampler: TreeSampler) {
  if (warmup > 0) {
    await injector.inject(port, warmup, bytes, shape);
    await sink?.waitFor(warmup);
  }
  const base = sink?.received() ?? 0;
  const host = hostCpu();
  sampler.start();
  const t0 = performance.now();
  await injector.inject(port, count, bytes, shape);
  const injected = performance.now();
  const done = sink ? await sink.waitFor(base + count) : injected;
  const proc = sampler.stop();
  const cpu = host();
  const seconds = (done - t0) / 1000;
  const injectSeconds = (injected - t0) / 1000;
  return {
    messages: count,
    seconds,
    injectSeconds,
    perSecond: count / seconds,
    injectPerSecond: count / injectSeconds,
    serverCpuSeconds: proc.cpuSeconds,
    peakRssMb: proc.peakRssKb / 1024,
    hostBusyPct: cpu.busyPct,
    hostIowaitPct: cpu.iowaitPct,
  };
}

async function runMailshift(shape: Shape, size: string, bytes: number, count: number, injector: Injector): Promise<Result> {
  const sink = guarded(await startSink(postfixTools));
  const server = guarded(
    await startMailshiftServer(sink.port, { dkim, ...(injectOnly ? { roles: 'smtp,http' } : {}) }).catch(
      async (err) => (await sink.stop(), Promise.reject(err)),
    ),
  );
  try {
    // CPU only: the peak memory is the kernel's high-water mark (VmHWM) of the one process,
    // and a PSS walk every 200 ms would take CPU and the server's memory-map lock from it.
    const sampler = new TreeSampler(() => server.pid, 1000, { memory: false, tree: false });
    const m = await measure(server.smtpPort, injectOnly ? null : sink, injector, shape, count, bytes, sampler);
    if (injectOnly) {
      const queue = await server.queueTotals();
      if ((queue.scheduled ?? 0) !== warmup + count) log(`  warning: mailshift queue totals ${JSON.stringify(queue)}, expected scheduled=${warmup + count}`);
      return { shape, size, system: 'mailshift, inject only', ...m, peakRssMb: server.peakRssKb() / 1024, queue };
    }
    // Outcomes are group-committed after the sink's reply: give the last batch a moment.
    let queue = await server.queueTotals();
    for (let i = 0; i < 50 && (queue.delivered ?? 0) < warmup + count; i++) queue = (await sleep(100), await server.queueTotals());
    if ((queue.delivered ?? 0) !== warmup + count) log(`  warning: mailshift queue totals ${JSON.stringify(queue)}, expected delivered=${warmup + count}`);
    return { shape, size, system: 'mailshift', ...m, peakRssMb: server.peakRssKb() / 1024, queue };
  } catch (err) {
    log(`mailshift log tail:\n${server.logTail()}`);
    throw err;
  } finally {
    await server.stop();
    await sink.stop();
  }
}

async function runPostfix(shape: Shape, size: string, bytes: number, count: number, injector: Injector): Promise<Result> {
  const sink = guarded(await startSink(postfixTools));
  const postfix = guarded(await startPostfix(sink.port).catch(async (err) => (await sink.stop(), Promise.reject(err))));
  try {
    const m = await measure(postfix.smtpPort, sink, injector, shape, count, bytes, new TreeSampler(postfix.masterPid));
    return { shape, size, system: 'postfix', ...m };
  } finally {
    await postfix.stop();
    await sink.stop();
  }
}

function table(results: Result[]): string {
  const head = ['shape', 'size', 'system', 'messages', 'seconds', 'msg/s e2e', 'inject msg/s', 'peak RSS MB', 'server CPU s', 'host busy %', 'iowait %'];
  const rows = results.map((r) => [
    r.shape,
    r.size,
    r.system,
    String(r.messages),
    r.seconds.toFixed(2),
    r.perSecond.toFixed(1),
    r.injectPerSecond.toFixed(1),
    r.peakRssMb.toFixed(1),
    r.serverCpuSeconds.toFixed(2),
    r.hostBusyPct.toFixed(0),
    r.hostIowaitPct.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const injector = makeInjector(postfixTools);
const sinkKind = postfixTools ? 'smtp-sink' : 'node smtp-server sink';
const postfixVersion = withPostfix ? execFileSync('/usr/sbin/postconf', ['-d', '-h', 'mail_version']).toString().trim() : null;
log(`injector: ${injector.kind} (${sessions} sessions), sink: ${sinkKind}, warm-up: ${warmup} messages, postfix: ${postfixVersion ?? 'not measured'}`);

const results: Result[] = [];
for (const shape of shapeList) {
  for (const size of sizes) {
    const bytes = bytesOf(size);
    const count = Number(option('messages') ?? (bytes <= 10 * 1024 ? 5000 : 1000) / (shape === 'per-message' ? 2 : 1));
    log(`${shape} ${size}: mailshift, ${count} messages…`);
    results.push(await runMailshift(shape, size, bytes, count, injector));
    if (withPostfix) {
      log(`${shape} ${size}: postfix, ${count} messages…`);
      results.push(await runPostfix(shape, size, bytes, count, injector));
    }
  }
}

const ratios = shapeList.flatMap((shape) =>
  sizes.flatMap((size) => {
    const m = results.find((r) => r.shape === shape && r.size === size && r.system === 'mailshift');
    const p = results.find((r) => r.shape === shape && r.size === size && r.system === 'postfix');
    return m && p ? [{ shape, size, mailshiftOverPostfix: m.perSecond / p.perSecond }] : [];
  }),
);

if (json) {
  const host = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version };
  console.log(JSON.stringify({ injector: injector.kind, sessions, sink: sinkKind, warmup, postfixVersion, host, results, ratios }, null, 2));
} else {
  console.log(
    `\nmailshift end-to-end benchmark: ${injector.kind} (${sessions} sessions) → system → ${sinkKind}, 1 recipient/message, ${cpus().length} CPUs, node ${process.version}\n`,
  );
  console.log(table(results));
  console.log('');
  for (const r of ratios) console.log(`ratio ${r.shape} ${r.size}: mailshift/postfix = ${r.mailshiftOverPostfix.toFixed(2)}× (end-to-end msg/s)`);
  console.log(
    '\npeak RSS: mailshift = VmHWM of the server process; postfix = peak of the summed PSS of master and its children (sampled every 200 ms).' +
      '\nserver CPU s: user+system CPU of the server process tree during the timed run. host busy/iowait: whole machine, timed run.',
  );
}

if (!flag('no-feedback')) {
  log('feedback listener: DSNs parsed and recorded…');
  runFeedbackBench(undefined);
}
