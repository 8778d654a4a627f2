import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import { freePort, processTree, sleep, stopChild, waitForPort } from './proc.ts';

/** A loopback SMTP sink that accepts everything and counts messages received. */
export interface Sink {
  readonly kind: string;
  readonly port: number;
  received(): number;
  /** Resolves with performance.now() at the moment `count` messages were in. */
  waitFor(count: number, stallMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export const postfixSinkAvailable = () => existsSync('/usr/sbin/smtp-sink') && existsSync('/usr/bin/script');

export async function startSink(usePostfixTools: boolean): Promise<Sink> {
  const port = await freePort();
  return usePostfixTools ? startSmtpSink(port) : startNodeSink(port);
}

function counter(kind: string, port: number, stop: () => Promise<void>) {
  let count = 0;
  let lastChange = performance.now();
  let waiter: { count: number; resolve: (t: number) => void } | null = null;
  const sink: Sink = {
    kind,
    port,
    received: () => count,
    async waitFor(target, stallMs = 60_000) {
      if (count >= target) return performance.now();
      const done = new Promise<number>((resolve) => (waiter = { count: target, resolve }));
      const watchdog = setInterval(() => {
        if (performance.now() - lastChange > stallMs) waiter?.resolve(Number.NaN);
      }, 1000);
      const t = await done.finally(() => clearInterval(watchdog));
      waiter = null;
      if (Number.isNaN(t)) throw new Error(`sink stalled at ${count}/${target} messages for ${stallMs / 1000} s`);
      return t;
    },
    stop,
  };
  const set = (n: number) => {
    if (n === count) return;
    count = n;
    lastChange = performance.now();
    if (waiter && count >= waiter.count) waiter.resolve(lastChange);
  };
  return { sink, set };
}

/**
 * Postfix's smtp-sink with its `-c` running counter. Its stdout is block-buffered on a pipe,
 * so it runs on a pseudo-terminal (script(1)) to report each message as it arrives.
 */
async function startSmtpSink(port: number): Promise<Sink> {
  const user = process.getuid?.() === 0 ? '-u nobody ' : '';
  const child: ChildProcess = spawn('script', ['-qfec', `exec /usr/sbin/smtp-sink ${user}-c 127.0.0.1:${port} 1024`, '/dev/null'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const { sink, set } = counter('smtp-sink', port, async () => {
    // Stop smtp-sink itself (a child of script); script then exits on its own.
    for (const pid of processTree(child.pid!).slice(1)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) await Promise.race([exited, sleep(2000)]);
    await stopChild(child);
  });
  let tail = '';
  child.stdout!.on('data', (d: Buffer) => {
    tail = (tail + d.toString('latin1')).slice(-200);
    const all = [...tail.matchAll(/mesg=(\d+)\r/g)];
    if (all.length > 0) set(Number(all[all.length - 1][1]));
  });
  await waitForPort(port);
  return sink;
}

/** Fallback sink: smtp-server, no STARTTLS (like smtp-sink), body read and dropped. */
async function startNodeSink(port: number): Promise<Sink> {
  let n = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    maxClients: 1024,
    closeTimeout: 1000,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        set(++n);
        callback();
      });
    },
  });
  const { sink, set } = counter('node smtp-server sink', port, () => new Promise((r) => server.close(() => r())));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return sink;
}
