import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import nodemailer from 'nodemailer';

/**
 * How clients use their sessions: `reuse` sends message after message on each (as MTAs and
 * pooled mailers do); `per-message` connects, sends one message and quits (as many
 * application mailers do).
 */
export type Shape = 'reuse' | 'per-message';
export const shapes: readonly Shape[] = ['reuse', 'per-message'];

/** Injects `count` one-recipient messages of about `bytes` each over `sessions` concurrent SMTP sessions. */
export interface Injector {
  readonly kind: string;
  inject(port: number, count: number, bytes: number, shape?: Shape): Promise<void>;
}

/** Concurrent SMTP sessions of every benchmark: 20, or MAILSHIFT_BENCH_SESSIONS (fewer: a lighter load, smaller group commits). */
export const sessions = Number(process.env.MAILSHIFT_BENCH_SESSIONS ?? 20);
if (!Number.isInteger(sessions) || sessions < 1)
  throw new Error(`MAILSHIFT_BENCH_SESSIONS: "${process.env.MAILSHIFT_BENCH_SESSIONS}" is not a whole number of sessions`);
const sender = 'bench@sender.example';
const recipient = 'rcpt@sink.example';

export const smtpSourceAvailable = () => existsSync('/usr/sbin/smtp-source');

export function makeInjector(usePostfixTools: boolean): Injector {
  return usePostfixTools ? smtpSource : nodemailerPool;
}

/**
 * Postfix's smtp-source: -s parallel sessions, -d keeps each session open for its next
 * message (without it, each message has a connection of its own), -N numbers the
 * recipients (rcpt → 1rcpt, 2rcpt, …), -l payload bytes. It exits non-zero at the first
 * reply that is not 2xx.
 */
const smtpSource: Injector = {
  kind: 'smtp-source',
  inject(port, count, bytes, shape = 'reuse') {
    const args = [
      '-s',
      String(sessions),
      '-m',
      String(count),
      '-l',
      String(bytes),
      ...(shape === 'reuse' ? ['-d'] : []),
      '-N',
      '-M',
      'bench.localhost',
      '-f',
      sender,
      '-t',
      recipient,
      `127.0.0.1:${port}`,
    ];
    return new Promise((resolve, reject) => {
      const child = spawn('/usr/sbin/smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`smtp-source exited ${code}: ${err.trim()}`))));
    });
  },
};

/** Fallback: nodemailer with a pool of 20 connections, every message handed over at once. */
const nodemailerPool: Injector = {
  kind: 'nodemailer pool',
  async inject(port, count, bytes, shape = 'reuse') {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      pool: true,
      maxConnections: sessions,
      // One message per connection: the pool opens a new one for the next.
      maxMessages: shape === 'reuse' ? Infinity : 1,
      ignoreTLS: true,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    const raw = message(bytes);
    try {
      await Promise.all(Array.from({ length: count }, (_, i) => transport.sendMail({ envelope: { from: sender, to: [`${i + 1}${recipient}`] }, raw })));
    } finally {
      transport.close();
    }
  },
};

/** Headers like smtp-source's, then `bytes` of 80-column lines. */
function message(bytes: number): Buffer {
  const head = `From: <${sender}>\r\nTo: <${recipient}>\r\nSubject: mailshift bench\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  const line = 'X'.repeat(78) + '\r\n';
  let body = line.repeat(Math.floor(bytes / line.length));
  body += 'X'.repeat(Math.max(0, bytes - body.length - 2)) + '\r\n';
  return Buffer.from(head + body);
}
