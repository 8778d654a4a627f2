import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, connect, type AddressInfo } from 'node:net';
import { execFileSync, type ChildProcess } from 'node:child_process';

/** Small process and socket helpers shared by the benchmark parts (Linux /proc only). */

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `signal` to a child and waits for it to exit (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** A process's parent and CPU ticks (user + system) from /proc; null once it is gone. */
export function readStat(pid: number): { ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** Proportional set size: shared pages divided among the processes sharing them. */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : statusKb(pid, 'VmRSS');
  } catch {
    return statusKb(pid, 'VmRSS');
  }
}

export function statusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pid and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) children.set(st.ppid, [...(children.get(st.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/**
 * Samples a process tree every `intervalMs`: the peak of its summed memory (PSS, so pages
 * shared by many Postfix daemons count once in total) and its
 * CPU time (per-pid maximum of utime+stime, summed, so short-lived children still count).
 */
export class TreeSampler {
  private readonly ticks = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private startTicks = new Map<number, number>();
  peakRssKb = 0;

  /**
   * `memory: false` skips the PSS reading: smaps_rollup walks the process's page tables
   * under its memory-map lock, costly for the reader and in the way of the process read.
   * `tree: false` reads the root alone, not a scan of /proc for its descendants.
   */
  constructor(
    private readonly root: () => number | undefined,
    private readonly intervalMs = 200,
    private readonly what: { memory?: boolean; tree?: boolean } = {},
  ) {}

  start(): void {
    this.sample();
    this.startTicks = new Map(this.ticks);
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): { peakRssKb: number; cpuSeconds: number } {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    let ticks = 0;
    for (const [pid, t] of this.ticks) ticks += t - (this.startTicks.get(pid) ?? 0);
    return { peakRssKb: this.peakRssKb, cpuSeconds: ticks / ticksPerSecond };
  }

  private sample(): void {
    const root = this.root();
    if (!root) return;
    let rss = 0;
    for (const pid of this.what.tree === false ? [root] : processTree(root)) {
      const st = readStat(pid);
      if (!st) continue;
      this.ticks.set(pid, Math.max(this.ticks.get(pid) ?? 0, st.ticks));
      if (this.what.memory !== false) rss += pssKb(pid);
    }
    this.peakRssKb = Math.max(this.peakRssKb, rss);
  }
}

/** Whole-machine CPU split between two /proc/stat readings. */
export function hostCpu(): () => { busyPct: number; iowaitPct: number } {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  return () => {
    const b = read();
    const d = b.map((v, i) => v - (a[i] ?? 0));
    const total = d.reduce((s, v) => s + v, 0) || 1;
    // user nice system idle iowait irq softirq steal ...
    return { busyPct: (100 * (total - d[3] - d[4])) / total, iowaitPct: (100 * d[4]) / total };
  };
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The V8 flags `npm start` runs the server with (see package.json and the README's Memory note). */
export const serverNodeFlags = ['--single-threaded-gc', '--max-semi-space-size=2', '--heap-growing-percent=15'];

/**
 * What the benchmarks run: the compiled server (`npm run build`, as `npm start` runs it:
 * no TypeScript loader in the process), or the sources through tsx when the build is
 * missing or older than a source file.
 */
export function serverEntry(): string {
  const built = join(repoRoot, 'build/cli/main.js');
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true })
        .filter((e) => !e.name.endsWith('.test.ts'))
        .map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)),
    );
  if (builtAt > 0 && builtAt >= newest(join(repoRoot, 'src'))) return built;
  process.stderr.write('note: build/ is missing or older than src/ (npm run build): running the sources through tsx\n');
  return join(repoRoot, 'bin/mailshift.js');
}
