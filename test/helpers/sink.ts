import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface SinkMessage {
  mailFrom: string;
  recipients: string[];
  raw: string;
  /** The client's EHLO name. */
  helo: string;
  localPort: number;
  /** When the client finished sending the message's data (epoch ms), before any reply delay. */
  at: number;
  /** The session was under TLS (STARTTLS or implicit). */
  secure: boolean;
  /** Who logged in, if anyone. */
  user?: string;
}

/**
 * Where the sink listens and what it offers: `address`/`port` (default 127.0.0.1, any
 * port), STARTTLS with `tls` (or TLS from the first byte with `secure`), and a login it
 * requires with `auth`.
 */
export interface SinkListen {
  address?: string;
  port?: number;
  tls?: { key: string; cert: string };
  secure?: boolean;
  auth?: { user: string; password: string };
}

/** Refuse a recipient with this SMTP reply, or accept it (undefined). */
export type SinkPolicy = (recipient: string, attempt: number) => { code: number; message: string } | undefined;

/**
 * A real SMTP server on loopback that records what it receives, standing in for a relay or
 * a receiving MX. Its policy can defer or refuse recipients.
 */
export class Sink {
  readonly messages: SinkMessage[] = [];
  readonly attempts = new Map<string, number>();
  connections = 0;
  maxConcurrent = 0;
  resets = 0;
  private open = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  /**
   * `canaryDelayMs`: hold the reply to mailshift's verification canary (a slow target);
   * `dataDelayMs`: hold the reply to every message (a slow receiver).
   */
  static async start(policy: SinkPolicy = () => undefined, options: { canaryDelayMs?: number; dataDelayMs?: number; listen?: SinkListen } = {}): Promise<Sink> {
    let sink: Sink;
    const listen = options.listen ?? {};
    const server = new SMTPServer({
      authOptional: !listen.auth,
      disabledCommands: [...(listen.auth ? [] : ['AUTH']), ...(listen.tls && !listen.secure ? [] : ['STARTTLS'])],
      secure: listen.secure === true,
      ...(listen.tls ? { key: listen.tls.key, cert: listen.tls.cert } : {}),
      onAuth(auth, _session, cb) {
        if (listen.auth && auth.username === listen.auth.user && auth.password === listen.auth.password) return cb(null, { user: auth.username });
        cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      hideENHANCEDSTATUSCODES: false,
      logger: false,
      onConnect(_session, cb) {
        sink.connections++;
        sink.open++;
        sink.maxConcurrent = Math.max(sink.maxConcurrent, sink.open);
        cb();
      },
      onClose() {
        sink.open--;
      },
      onRcptTo(address, _session, cb) {
        const n = (sink.attempts.get(address.address) ?? 0) + 1;
        sink.attempts.set(address.address, n);
        const refusal = policy(address.address, n);
        if (!refusal) return cb();
        cb(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          const at = Date.now();
          const raw = Buffer.concat(chunks).toString('utf8');
          const canary = /^X-Mailshift-Canary: 1/im.test(raw);
          const wait = canary ? options.canaryDelayMs : options.dataDelayMs;
          if (wait) await new Promise((r) => setTimeout(r, wait));
          sink.messages.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            recipients: session.envelope.rcptTo.map((r) => r.address),
            raw,
            helo: session.hostNameAppearsAs,
            localPort: session.localPort,
            at,
            secure: session.secure,
            user: typeof session.user === 'string' ? session.user : undefined,
          });
          sink.notify();
          cb();
        });
      },
    });
    // A client that dies mid-session (a killed mailshift) is a reset socket, not a test failure.
    server.on('error', () => {
      if (sink) sink.resets++;
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port ?? 0, listen.address ?? '127.0.0.1', () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    sink = new Sink(server, (server.server.address() as AddressInfo).port);
    return sink;
  }

  get relay(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once `n` messages have arrived, or rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 15_000): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sink has ${this.messages.length} of ${n} messages after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => (this.messages.length >= w.n ? (w.resolve(), false) : true));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
