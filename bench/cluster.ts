/**
 * SQLite on one node against PostgreSQL on one node and on N nodes sharing one schema:
 * the same workload each time (--messages one-recipient messages over 20 SMTP sessions
 * spread across the nodes' SMTP ports, relayed to one loopback sink), timed after a warm-up
 * of --warmup messages per node (each process warms its own JIT). Then, unless --no-kill, the
 * N-node cluster again with a short time to live and lease, one node SIGKILLed mid-run:
 * how long until the deliveries it held are claimed by another node or finished.
 *
 *   npm run bench -- --database postgres [--nodes 3] [--messages 10000] [--size 2k] [--warmup 2000]
 *                    [--database-url postgres://…] [--no-kill] [--ttl-ms 5000] [--lease-ms 10000]
 *                    [--repeat R] [--json] [--node-tools]
 *
 * CPU is user+system from /proc: the mailshift processes summed, and apart from it the
 * PostgreSQL backends serving them (told apart by PGAPPNAME) and the server's shared
 * background processes. Prints figures; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { configure, startNode, type ClusterNode } from './cluster-node.ts';
import { sessions, smtpSourceAvailable } from './inject.ts';
import { PgCpuSampler, type PgCpu } from './pg-cpu.ts';
import { sleep, TreeSampler } from './proc.ts';
import { postfixSinkAvailable, startSink, type Sink } from './sink.ts';
import { injectAll, makeSpreadInjector } from './spread-inject.ts';

interface RunResult {
  config: string;
  /** With --repeat: which round. */
  round?: number;
  database: 'sqlite' | 'postgres';
  nodes: number;
  messages: number;
  seconds: number;
  injectSeconds: number;
  perSecond: number;
  injectPerSecond: number;
  /** Sum over the mailshift processes. */
  mailshiftCpuSeconds: number;
  mailshiftCpuPer1k: number;
  pgBackendCpuSeconds: number | null;
  pgBackendCpuPer1k: number | null;
  pgAuxCpuSeconds: number | null;
  /** The highest VmHWM among the nodes. */
  peakRssMb: number;
  hostBusyPct: number;
  hostIowaitPct: number;
  /** Busy CPU of the host spent neither by this benchmark (its nodes, sink, injector, itself) nor by PostgreSQL for it: other work on the machine. */
  otherHostCpuSeconds: number;
  loadAvg1AtStart: number;
  queue: Record<string, number>;
  /** PostgreSQL's row counters for the schema's busiest tables, over the whole run (warm-up included). */
  pgTables?: Record<string, { seqScan: number; idxScan: number; inserted: number; updated: number; deleted: number }>;
}

interface KillResult {
  nodes: number;
  victim: string;
  victimWasLeader: boolean;
  ttlMs: number;
  leaseMs: number;
  /** Messages accepted after the warm-up (the dead node's sessions fail with it), and of them delivered. */
  accepted: number;
  delivered: number;
  /** Deliveries the node held (inflight under its lease) when it died. */
  heldAtKill: number;
  /** Seconds from the SIGKILL until another node marked it dead; until none of its claims is left; until each is claimed again or finished; until each is finished. */
  foundDeadSeconds: number | null;
  releasedSeconds: number | null;
  backInWorkSeconds: number | null;
  finishedSeconds: number | null;
  /** Lease plus 5 s: the target for backInWorkSeconds. */
  targetSeconds: number;
  /** From the first injection until every delivery was finished. */
  seconds: number;
  /** Messages the sink received more than once (sent by the dead node, outcome not yet written). */
  duplicates: number;
  queue: Record<string, number>;
}

interface Cluster {
  nodes: ClusterNode[];
  ports: number[];
  sink: Sink;
  appName: string;
  schema: string;
  /** A query on the cluster's schema: `$schema` stands for it. */
  q<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  queue(): Promise<Record<string, number>>;
}

const finalStates = ['delivered', 'bounced', 'expired', 'suppressed'];
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Busy and iowait CPU of the whole host since the call. */
function hostTicks(): () => { busySeconds: number; busyPct: number; iowaitPct: number } {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  return () => {
    const d = read().map((v, i) => v - (a[i] ?? 0));
    const total = d.reduce((s, v) => s + v, 0) || 1;
    const busy = total - d[3] - d[4];
    return { busySeconds: busy / ticksPerSecond, busyPct: (100 * busy) / total, iowaitPct: (100 * d[4]) / total };
  };
}

const loadAvg1 = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

function bytesOf(size: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)b?$/i.exec(size);
  if (!m) throw new Error(`--size: cannot read "${size}" (use e.g. 2k)`);
  return Math.round(Number(m[1]) * { '': 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase() as '' | 'k' | 'm']);
}

export async function runClusterBench(argv: string[]): Promise<void> {
  const flag = (name: string) => argv.includes(`--${name}`);
  const option = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const database = option('database');
  if (database !== 'postgres') throw new Error(`--database: only "postgres" is measured (against SQLite), got "${database}"`);
  const url = option('database-url') ?? process.env.MAILSHIFT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const nodes = Number(option('nodes') ?? 3);
  const count = Number(option('messages') ?? 10_000);
  const size = option('size') ?? '2k';
  const bytes = bytesOf(size);
  // Per node: each process warms its own JIT, and takes thousands of messages to settle.
  const warmup = Number(option('warmup') ?? 2000);
  const killWarmup = Math.min(warmup, 100);
  const ttlMs = Number(option('ttl-ms') ?? 5000);
  const leaseMs = Number(option('lease-ms') ?? 10_000);
  const json = flag('json');
  const repeat = Number(option('repeat') ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a positive integer');
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error('--nodes must be a positive integer');
  const withKill = nodes >= 2 && !flag('no-kill');
  const postfixTools = !flag('node-tools') && smtpSourceAvailable() && postfixSinkAvailable();
  const injector = makeSpreadInjector(postfixTools);
  const sinkKind = postfixTools ? 'smtp-sink' : 'node smtp-server sink';

  // Ctrl-C must leave no node, sink or schema behind.
  const cleanups = new Set<() => Promise<unknown>>();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, async () => {
      log(`${signal}: cleaning up…`);
      await Promise.allSettled([...cleanups].map((c) => c()));
      process.exit(130);
    });
  }

  // Read before the runs: the tree may move while they go on.
  const code = codeState();
  const observer = new pg.Client({ connectionString: url, application_name: 'mailshift-bench-observer' });
  await observer.connect();
  const serverVersion = (await observer.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0].v;
  log(
    `injector: ${injector.kind} (${sessions} sessions spread over the nodes), sink: ${sinkKind}, ${count} × ${size}, warm-up ${warmup}/node, PostgreSQL ${serverVersion} at ${url.replace(/\/\/[^@]*@/, '//')}`,
  );

  /** n nodes on a fresh database, configured and warmed up; torn down after `body`. */
  async function withCluster<T>(
    db: 'sqlite' | 'postgres',
    n: number,
    warmupPerNode: number,
    extraEnv: Record<string, string>,
    body: (c: Cluster) => Promise<T>,
  ): Promise<T> {
    const schema = `bench_${randomBytes(5).toString('hex')}`;
    const appName = `mailshift-bench-${schema}`;
    const env: Record<string, string> =
      db === 'postgres'
        ? { MAILSHIFT_DATABASE_URL: url, MAILSHIFT_DATABASE_SCHEMA: schema, PGAPPNAME: appName, ...extraEnv }
        : { MAILSHIFT_DATABASE_URL: '', ...extraEnv };
    const sink = await startSink(postfixTools);
    const started: ClusterNode[] = [];
    const teardown = async () => {
      await Promise.allSettled(started.map((node) => node.stop()));
      await sink.stop();
      if (db === 'postgres')
        await observer.query(`drop schema if exists "${schema}" cascade`).catch((err) => log(`  dropping schema ${schema}: ${err.message}`));
    };
    cleanups.add(teardown);
    try {
      // The first node migrates the schema; the others start on it together.
      started.push(await startNode({ env }));
      await configure(started[0], sink.port);
      await Promise.all(
        Array.from({ length: n - 1 }, async () => {
          started.push(await startNode({ env }));
        }),
      );
      const ports = started.map((node) => node.smtpPort);
      if (warmupPerNode > 0) {
        log(`  warm-up: ${warmupPerNode * n} messages…`);
        await injectAll(injector, ports, warmupPerNode * n, bytes);
        await sink.waitFor(warmupPerNode * n);
      }
      return await body({
        nodes: started,
        ports,
        sink,
        appName,
        schema,
        q: (text, values = []) => observer.query(text.replaceAll('$schema', `"${schema}"`), values).then((r) => r.rows),
        queue: async () => (await started[0].admin('GET', '/queue')).total,
      });
    } catch (err) {
      for (const [i, node] of started.entries()) log(`node ${i} log tail:\n${node.logTail()}`);
      throw err;
    } finally {
      cleanups.delete(teardown);
      await teardown();
    }
  }

  const measure = (db: 'sqlite' | 'postgres', n: number): Promise<RunResult> => {
    const config = `${db} ×${n}`;
    log(`${config}: ${count} messages…`);
    const warm = warmup * n;
    return withCluster(db, n, warmup, {}, async (c) => {
      const base = c.sink.received();
      // CPU only, and a node's own /proc entry only (its peak memory is the kernel's VmHWM):
      // sampling must not take the CPU it measures, the more so the more nodes share it.
      const nodeSamplers = c.nodes.map((node) => new TreeSampler(() => node.pid, 1000, { memory: false, tree: false }));
      const selfSampler = new TreeSampler(() => process.pid, 200, { memory: false });
      const pgSampler = db === 'postgres' ? new PgCpuSampler(observer, c.appName) : null;
      const loadAtStart = loadAvg1();
      await pgSampler?.start();
      for (const s of [...nodeSamplers, selfSampler]) s.start();
      const host = hostTicks();
      const t0 = performance.now();
      await injectAll(injector, c.ports, count, bytes);
      const injected = performance.now();
      const done = await c.sink.waitFor(base + count);
      const nodeCpu = nodeSamplers.map((s) => s.stop().cpuSeconds);
      const selfCpu = selfSampler.stop().cpuSeconds;
      const hostCpu = host();
      const pgCpu: PgCpu | null = pgSampler ? await pgSampler.stop() : null;

      // Outcomes are group-committed after the sink's reply: give the last batch a moment.
      let queue = await c.queue();
      for (let i = 0; i < 50 && (queue.delivered ?? 0) < warm + count; i++) {
        await sleep(100);
        queue = await c.queue();
      }
      if ((queue.delivered ?? 0) !== warm + count) log(`  warning: queue totals ${JSON.stringify(queue)}, expected delivered=${warm + count}`);
      const pgTables = db === 'postgres' ? await tableStats(c) : undefined;
      const seconds = (done - t0) / 1000;
      const injectSeconds = (injected - t0) / 1000;
      const mailshiftCpu = nodeCpu.reduce((a, b) => a + b, 0);
      return {
        config,
        database: db,
        nodes: n,
        messages: count,
        seconds,
        injectSeconds,
        perSecond: count / seconds,
        injectPerSecond: count / injectSeconds,
        mailshiftCpuSeconds: mailshiftCpu,
        mailshiftCpuPer1k: (1000 * mailshiftCpu) / count,
        pgBackendCpuSeconds: pgCpu?.backendSeconds ?? null,
        pgBackendCpuPer1k: pgCpu ? (1000 * pgCpu.backendSeconds) / count : null,
        pgAuxCpuSeconds: pgCpu?.auxSeconds ?? null,
        peakRssMb: Math.max(...c.nodes.map((node) => node.peakRssKb())) / 1024,
        hostBusyPct: hostCpu.busyPct,
        hostIowaitPct: hostCpu.iowaitPct,
        otherHostCpuSeconds: Math.max(0, hostCpu.busySeconds - selfCpu - (pgCpu ? pgCpu.backendSeconds + pgCpu.auxSeconds : 0)),
        loadAvg1AtStart: loadAtStart,
        queue,
        ...(pgTables ? { pgTables } : {}),
      };
    });
  };

  /**
   * The same workload on n nodes; once a quarter of it is in and the last node holds
   * claims, that node is SIGKILLed. Its SMTP sessions fail with it; the others go on.
   */
  const killRun = (n: number): Promise<KillResult> => {
    log(`postgres ×${n}, kill one: ${count} messages, ttl ${ttlMs} ms, lease ${leaseMs} ms…`);
    return withCluster('postgres', n, killWarmup, { MAILSHIFT_NODE_TTL_MS: String(ttlMs), MAILSHIFT_LEASE_MS: String(leaseMs) }, async (c) => {
      const victim = c.nodes[n - 1];
      const [{ id }] = await c.q<{ id: string }>('select id from $schema.nodes where pid = $1 and stopped_at is null', [victim.pid]);
      const heldNow = async () =>
        Number((await c.q<{ n: string }>(`select count(*) as n from $schema.deliveries where state = 'inflight' and lease_owner = $1`, [id]))[0].n);
      const base = c.sink.received();
      const t0 = performance.now();
      const parts = Promise.allSettled(injector.injectEach(c.ports, count, bytes));
      for (;;) {
        const progress = c.sink.received() - base;
        if (progress >= count * 0.8 || (progress >= count * 0.25 && (await heldNow()) > 0)) break;
        await sleep(20);
      }
      const view = (await c.nodes[0].admin('GET', '/nodes')) as { nodes: { id: string; leader: boolean }[] };
      const wallKill = Date.now();
      const tKill = performance.now();
      await victim.kill();
      // Only another node changes its rows now; a transaction it had open is rolled back.
      const held = (await c.q<{ id: string }>(`select id from $schema.deliveries where state = 'inflight' and lease_owner = $1`, [id])).map((r) => r.id);
      const result: KillResult = {
        nodes: n,
        victim: id,
        victimWasLeader: view.nodes.some((node) => node.id === id && node.leader),
        ttlMs,
        leaseMs,
        accepted: 0,
        delivered: 0,
        heldAtKill: held.length,
        foundDeadSeconds: null,
        releasedSeconds: null,
        backInWorkSeconds: null,
        finishedSeconds: null,
        targetSeconds: leaseMs / 1000 + 5,
        seconds: 0,
        duplicates: 0,
        queue: {},
      };
      const since = () => (performance.now() - tKill) / 1000;
      while (performance.now() - tKill < leaseMs + 60_000) {
        if (result.foundDeadSeconds === null) {
          const [node] = await c.q<{ stopped_at: string | null }>('select stopped_at from $schema.nodes where id = $1', [id]);
          if (node?.stopped_at != null) result.foundDeadSeconds = (Number(node.stopped_at) - wallKill) / 1000;
        }
        if (held.length > 0) {
          const [s] = await c.q<{ held: string; waiting: string; finished: string }>(
            `select count(*) filter (where state = 'inflight' and lease_owner = $1) as held,
                    count(*) filter (where state = 'scheduled') as waiting,
                    count(*) filter (where state = any($3::text[])) as finished
               from $schema.deliveries where id = any($2::bigint[])`,
            [id, held, finalStates],
          );
          const t = since();
          if (result.releasedSeconds === null && Number(s.held) === 0) result.releasedSeconds = t;
          if (result.backInWorkSeconds === null && Number(s.held) === 0 && Number(s.waiting) === 0) result.backInWorkSeconds = t;
          if (result.finishedSeconds === null && Number(s.finished) === held.length) result.finishedSeconds = t;
        }
        if (result.foundDeadSeconds !== null && (held.length === 0 || result.finishedSeconds !== null)) break;
        await sleep(50);
      }
      const failed = (await parts).slice(0, -1).find((p) => p.status === 'rejected');
      if (failed) throw failed.reason;
      // Done when nothing is left to send; the sink's count includes the dead node's repeats.
      for (;;) {
        result.queue = await c.queue();
        if ((result.queue.scheduled ?? 0) + (result.queue.inflight ?? 0) === 0) break;
        if (performance.now() - t0 > 10 * 60_000) throw new Error(`kill run: ${JSON.stringify(result.queue)} after 10 minutes`);
        await sleep(50);
      }
      result.seconds = (performance.now() - t0) / 1000;
      await sleep(500);
      result.accepted = Object.values(result.queue).reduce((a, b) => a + b, 0) - killWarmup * n;
      result.delivered = (result.queue.delivered ?? 0) - killWarmup * n;
      result.duplicates = c.sink.received() - (result.queue.delivered ?? 0);
      return result;
    });
  };

  const results: RunResult[] = [];
  let killed: KillResult | undefined;
  try {
    // Rounds interleave the configurations, so a burst of other load hits them alike.
    for (let round = 1; round <= repeat; round++) {
      results.push({ ...(await measure('sqlite', 1)), round });
      results.push({ ...(await measure('postgres', 1)), round });
      if (nodes > 1) results.push({ ...(await measure('postgres', nodes)), round });
    }
    if (withKill) killed = await killRun(nodes);
  } finally {
    await observer.end();
  }

  // Over several rounds, each figure is the median of its rounds.
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const summary = (database: 'sqlite' | 'postgres', n: number) => {
    const rs = results.filter((r) => r.database === database && r.nodes === n);
    return {
      perSecond: median(rs.map((r) => r.perSecond)),
      mailshiftCpuPer1k: median(rs.map((r) => r.mailshiftCpuPer1k)),
      pgBackendCpuPer1k: database === 'postgres' ? median(rs.map((r) => r.pgBackendCpuPer1k!)) : 0,
    };
  };
  const sqlite1 = summary('sqlite', 1);
  const pg1 = summary('postgres', 1);
  const pgN = nodes > 1 ? summary('postgres', nodes) : undefined;
  const ratios = {
    pgOneOverSqlite: pg1.perSecond / sqlite1.perSecond,
    cpuPerMsgNOverOne: pgN ? pgN.mailshiftCpuPer1k / pg1.mailshiftCpuPer1k : null,
    cpuPerMsgWithPgNOverOne: pgN ? (pgN.mailshiftCpuPer1k + pgN.pgBackendCpuPer1k!) / (pg1.mailshiftCpuPer1k + pg1.pgBackendCpuPer1k!) : null,
    pgOneCpuPerMsgOverSqlite: pg1.mailshiftCpuPer1k / sqlite1.mailshiftCpuPer1k,
    msgPerSecondNOverOne: pgN ? pgN.perSecond / pg1.perSecond : null,
    backInWorkSeconds: killed?.backInWorkSeconds ?? null,
  };
  const info = '(for information)';
  const targets: { measure: string; value: string; target: string; met: boolean | null }[] = [
    { measure: 'msg/s, postgres ×1 / sqlite ×1', value: `${ratios.pgOneOverSqlite.toFixed(2)}×`, target: '≥ 0.70×', met: ratios.pgOneOverSqlite >= 0.7 },
  ];
  if (pgN) {
    targets.push(
      {
        measure: `mailshift CPU/msg, postgres ×${nodes} / ×1`,
        value: `${ratios.cpuPerMsgNOverOne!.toFixed(2)}×`,
        target: '≤ 1.20×',
        met: ratios.cpuPerMsgNOverOne! <= 1.2,
      },
      { measure: `mailshift + PG backend CPU/msg, ×${nodes} / ×1`, value: `${ratios.cpuPerMsgWithPgNOverOne!.toFixed(2)}×`, target: info, met: null },
      { measure: `msg/s, postgres ×${nodes} / ×1`, value: `${ratios.msgPerSecondNOverOne!.toFixed(2)}×`, target: info, met: null },
    );
  }
  targets.push({ measure: 'mailshift CPU/msg, postgres ×1 / sqlite ×1', value: `${ratios.pgOneCpuPerMsgOverSqlite.toFixed(2)}×`, target: info, met: null });
  if (killed) {
    targets.push({
      measure: `dead node's claims (${killed.heldAtKill}) back in work`,
      value: killed.backInWorkSeconds !== null ? `${killed.backInWorkSeconds.toFixed(1)} s` : killed.heldAtKill === 0 ? 'held none' : 'not seen',
      target: `≤ ${killed.targetSeconds.toFixed(1)} s (lease ${killed.leaseMs / 1000} s + 5 s)`,
      met: killed.backInWorkSeconds === null ? null : killed.backInWorkSeconds <= killed.targetSeconds,
    });
  }

  const host = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, postgres: serverVersion, code };
  if (json) {
    console.log(
      JSON.stringify({ injector: injector.kind, sessions, sink: sinkKind, size, warmup, host, results, kill: killed ?? null, ratios, targets }, null, 2),
    );
    return;
  }
  console.log(
    `\nmailshift cluster benchmark: ${injector.kind} (${sessions} sessions over the nodes' SMTP ports) → mailshift → ${sinkKind}, ${count} × ${size} after ${warmup} per node to warm up, 1 recipient/message, ${host.cpus} CPUs, node ${process.version}, PostgreSQL ${serverVersion}, code ${host.code}\n`,
  );
  const head = ['config', 'seconds', 'msg/s e2e', 'inject msg/s', 'mailshift CPU s', 'CPU s/1k msg', 'PG backend CPU s', 'PG s/1k msg', 'PG aux CPU s'];
  console.log(
    table(
      [...head, 'peak RSS MB/node', 'host busy %', 'iowait %', 'other host CPU s', 'load1 at start'],
      results.map((r) => [
        repeat > 1 ? `${r.config} #${r.round}` : r.config,
        r.seconds.toFixed(2),
        r.perSecond.toFixed(1),
        r.injectPerSecond.toFixed(1),
        r.mailshiftCpuSeconds.toFixed(2),
        r.mailshiftCpuPer1k.toFixed(2),
        r.pgBackendCpuSeconds?.toFixed(2) ?? '–',
        r.pgBackendCpuPer1k?.toFixed(2) ?? '–',
        r.pgAuxCpuSeconds?.toFixed(2) ?? '–',
        r.peakRssMb.toFixed(1),
        r.hostBusyPct.toFixed(0),
        r.hostIowaitPct.toFixed(0),
        r.otherHostCpuSeconds.toFixed(2),
        r.loadAvg1AtStart.toFixed(2),
      ]),
      1,
    ),
  );
  console.log('');
  console.log(
    table(
      ['measure', 'value', 'target', 'met'],
      targets.map((t) => [t.measure, t.value, t.target, t.met === null ? '' : t.met ? 'yes' : 'no']),
      4,
    ),
  );
  if (killed) {
    const s = (v: number | null) => (v === null ? 'not seen' : `${v.toFixed(2)} s`);
    console.log(
      `\nkill (postgres ×${killed.nodes}, ttl ${killed.ttlMs} ms, lease ${killed.leaseMs} ms): SIGKILL to ${killed.victim}${killed.victimWasLeader ? ' (the leader)' : ' (not the leader)'} holding ${killed.heldAtKill} claims.` +
        `\n  after the kill: found dead ${s(killed.foundDeadSeconds)}, none of its claims left ${s(killed.releasedSeconds)},` +
        ` each claimed by another node or finished ${s(killed.backInWorkSeconds)}, each finished ${s(killed.finishedSeconds)}.` +
        `\n  ${killed.accepted} messages accepted, ${killed.delivered} delivered, ${killed.seconds.toFixed(1)} s from the first injection to the last outcome; ${killed.duplicates} reached the sink twice (sent by the dead node, outcome not yet written).`,
    );
  }
  console.log(
    '\nCPU: user+system from /proc during the timed run. mailshift = sum over the node processes; PG backend = the connections the nodes opened (PGAPPNAME);' +
      '\nPG aux = postmaster and background processes (WAL writer, checkpointer…), shared with anything else on that server; other host CPU = host busy time' +
      '\nminus this benchmark (nodes, sink, injector, itself) and its PostgreSQL share, i.e. other work on the machine. peak RSS = the highest VmHWM among the nodes.',
  );
}

/** The commit measured, and how many files under src/ differ from it (figures of a work in progress say so). */
function codeState(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    const changed = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed > 0 ? ` + ${changed} uncommitted files in src/` : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Row counters of the cluster's tables; a backend reports them when idle, so the nodes get a moment first. */
async function tableStats(c: Cluster): Promise<RunResult['pgTables']> {
  await sleep(1500);
  const rows = await c.q<{ relname: string; seq_scan: string; idx_scan: string | null; n_tup_ins: string; n_tup_upd: string; n_tup_del: string }>(
    `select relname, seq_scan, idx_scan, n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables
      where schemaname = $1 order by seq_scan + coalesce(idx_scan, 0) + n_tup_ins + n_tup_upd desc limit 12`,
    [c.schema],
  );
  return Object.fromEntries(
    rows.map((r) => [
      r.relname,
      {
        seqScan: Number(r.seq_scan),
        idxScan: Number(r.idx_scan ?? 0),
        inserted: Number(r.n_tup_ins),
        updated: Number(r.n_tup_upd),
        deleted: Number(r.n_tup_del),
      },
    ]),
  );
}

/** Columns left-aligned up to `leftColumns`, right-aligned after. */
function table(head: string[], rows: string[][], leftColumns: number): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
