import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpReply } from '../core/delivery/bounce-rules.ts';
import { parseEnhancedStatus } from '../core/delivery/bounce-rules.ts';
import type { Relay } from '../core/fleet/fleet.ts';

export interface OutboundOptions {
  heloName: string;
  localAddress?: string;
  connectionTimeoutMs: number;
  socketTimeoutMs: number;
}

export type SendResult = { ok: true; reply: SmtpReply } | { ok: false; reply: SmtpReply; connectionUsable: boolean };

/** One outbound SMTP session, promise-shaped; the reply of every step is kept for classification. */
export class OutboundConnection {
  private broken = false;

  private constructor(private readonly conn: SMTPConnection) {
    conn.on('error', () => (this.broken = true));
    conn.on('end', () => (this.broken = true));
  }

  static open(relay: Relay, options: OutboundOptions): Promise<{ ok: true; connection: OutboundConnection } | { ok: false; reply: SmtpReply }> {
    const conn = new SMTPConnection({
      host: relay.host,
      port: relay.port,
      name: options.heloName,
      localAddress: options.localAddress,
      connectionTimeout: options.connectionTimeoutMs,
      greetingTimeout: options.connectionTimeoutMs,
      socketTimeout: options.socketTimeoutMs,
      // Opportunistic STARTTLS, as between MTAs: relays often present private certificates.
      opportunisticTLS: true,
      tls: { rejectUnauthorized: false },
      allowInternalNetworkInterfaces: true,
      logger: false,
    });
    return new Promise((resolve) => {
      let settled = false;
      conn.once('error', (err: Error) => {
        if (settled) return;
        settled = true;
        conn.close();
        resolve({ ok: false, reply: replyOf(err) });
      });
      conn.connect(() => {
        if (settled) return;
        settled = true;
        resolve({ ok: true, connection: new OutboundConnection(conn) });
      });
    });
  }

  send(from: string, to: string, raw: Buffer): Promise<SendResult> {
    return new Promise((resolve) => {
      this.conn.send({ from, to: [to] }, raw, (err, info) => {
        if (err) {
          const reply = replyOf(err);
          // A refusal by the server leaves the session usable after RSET; a broken socket does not.
          resolve({ ok: false, reply, connectionUsable: reply.code !== null && reply.code < 500 ? reply.code !== 421 : reply.code !== null });
          return;
        }
        const text = String(info?.response ?? '250');
        resolve({ ok: true, reply: { code: codeOf(text) ?? 250, enhanced: parseEnhancedStatus(text), text } });
      });
    });
  }

  reset(): Promise<boolean> {
    return new Promise((resolve) => this.conn.reset((err) => resolve(!err)));
  }

  get usable(): boolean {
    return !this.broken;
  }

  close(): void {
    this.conn.quit();
    setTimeout(() => this.conn.close(), 1000).unref();
  }
}

function replyOf(err: unknown): SmtpReply {
  const e = err as { responseCode?: number; response?: string; message?: string; code?: string };
  if (typeof e.responseCode === 'number' && e.responseCode >= 200) {
    const text = e.response ?? e.message ?? '';
    return { code: e.responseCode, enhanced: parseEnhancedStatus(text), text };
  }
  return { code: null, enhanced: null, text: `${e.code ?? 'ERROR'}: ${e.message ?? String(err)}` };
}

function codeOf(text: string): number | null {
  const m = /^(\d{3})/.exec(text);
  return m ? Number(m[1]) : null;
}
