import { Socket } from 'node:net';

/**
 * An SMTP client spoken by hand over a real socket, for input no client library sends and
 * for watching exactly what the server answers and when it hangs up.
 */
export class SmtpSession {
  /** Every reply, complete, in order (multi-line replies joined with CRLF). */
  readonly replies: string[] = [];
  /** Lines that are not part of a well-formed reply (should stay empty). */
  readonly malformed: string[] = [];
  closed = false;
  readonly done: Promise<void>;
  private buffer = '';
  private pending: string[] = [];
  private taken = 0;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    this.done = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      for (let at = this.buffer.indexOf('\r\n'); at >= 0; at = this.buffer.indexOf('\r\n')) {
        const line = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        const m = /^(\d{3})([ -])/.exec(line);
        if (!m || (this.pending.length > 0 && !this.pending[0].startsWith(m[1]))) {
          this.malformed.push(line);
          continue;
        }
        this.pending.push(line);
        if (m[2] === ' ') {
          this.replies.push(this.pending.join('\r\n'));
          this.pending = [];
        }
      }
      this.wake();
    });
  }

  static async open(port: number, localAddress?: string): Promise<SmtpSession> {
    const socket = new Socket();
    const session = new SmtpSession(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ port, host: '127.0.0.1', localAddress }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return session;
  }

  /** The next reply not yet taken, or null once the server has closed without one. */
  async reply(timeoutMs = 10_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.taken >= this.replies.length) {
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms; so far: ${JSON.stringify(this.replies)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.replies[this.taken++];
  }

  async command(line: string, timeoutMs?: number): Promise<string | null> {
    this.write(line + '\r\n');
    return this.reply(timeoutMs);
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data);
  }

  /** EHLO and AUTH PLAIN; returns the AUTH reply. */
  async login(username: string, password: string): Promise<string | null> {
    await this.command('EHLO client.example');
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${username}\0${password}`).toString('base64')}`);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
