import { spawn } from 'node:child_process';
import nodemailer from 'nodemailer';
import { sessions } from './inject.ts';

/**
 * The benchmark's workload (20 SMTP sessions in all, one recipient per message) spread over
 * several SMTP ports: each port gets its share of the sessions and messages in proportion,
 * so one node and N nodes see the same injection in total.
 */
export interface SpreadInjector {
  readonly kind: string;
  /** One promise per port, in the order of `ports`: a node that dies fails only its own. */
  injectEach(ports: readonly number[], count: number, bytes: number): Promise<void>[];
}

export const injectAll = (injector: SpreadInjector, ports: readonly number[], count: number, bytes: number) =>
  Promise.all(injector.injectEach(ports, count, bytes)).then(() => undefined);

const sender = 'bench@sender.example';
const recipient = 'rcpt@sink.example';

/** Splits `total` into `parts` integers differing by at most one, largest first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Per port, its sessions and messages; messages follow the sessions so every session carries about as many. */
function shares(ports: readonly number[], count: number): { port: number; sessions: number; count: number }[] {
  const perPort = split(Math.max(sessions, ports.length), ports.length);
  const total = perPort.reduce((a, b) => a + b, 0);
  let left = count;
  return ports.map((port, i) => {
    const n = i === ports.length - 1 ? left : Math.round((count * perPort[i]) / total);
    left -= n;
    return { port, sessions: perPort[i], count: n };
  });
}

export function makeSpreadInjector(usePostfixTools: boolean): SpreadInjector {
  return usePostfixTools ? smtpSource : nodemailerPools;
}

/** One smtp-source per port (see inject.ts for its flags). */
const smtpSource: SpreadInjector = {
  kind: 'smtp-source',
  injectEach(ports, count, bytes) {
    return shares(ports, count).map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          if (s.count === 0) return resolve();
          const args = ['-s', String(s.sessions), '-m', String(s.count), '-l', String(bytes), '-d', '-N', '-M', 'bench.localhost'];
          const child = spawn('/usr/sbin/smtp-source', [...args, '-f', sender, '-t', recipient, `127.0.0.1:${s.port}`], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let err = '';
          child.stderr!.on('data', (d: Buffer) => {
            err += d.toString();
          });
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`smtp-source to :${s.port} exited ${code}: ${err.trim()}`))));
        }),
    );
  },
};

/** Fallback: a nodemailer pool per port with that port's share of the sessions. */
const nodemailerPools: SpreadInjector = {
  kind: 'nodemailer pool',
  injectEach(ports, count, bytes) {
    const raw = message(bytes);
    return shares(ports, count).map(async (s) => {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: s.port,
        pool: true,
        maxConnections: s.sessions,
        maxMessages: Infinity,
        ignoreTLS: true,
      } as Parameters<typeof nodemailer.createTransport>[0]);
      try {
        await Promise.all(Array.from({ length: s.count }, (_, i) => transport.sendMail({ envelope: { from: sender, to: [`${i + 1}${recipient}`] }, raw })));
      } finally {
        transport.close();
      }
    });
  },
};

/** Headers like smtp-source's, then `bytes` of 80-column lines. */
function message(bytes: number): Buffer {
  const head = `From: <${sender}>\r\nTo: <${recipient}>\r\nSubject: mailshift bench\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  const line = `${'X'.repeat(78)}\r\n`;
  let body = line.repeat(Math.floor(bytes / line.length));
  body += `${'X'.repeat(Math.max(0, bytes - body.length - 2))}\r\n`;
  return Buffer.from(head + body);
}
