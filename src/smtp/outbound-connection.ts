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

/** A next hop; `servername` names it for TLS (SNI) when `host` is an address. */
export type OutboundHop = Relay & { servername?: string };

export type SendResult = { ok: true; reply: SmtpReply } | { ok: false; reply: SmtpReply; connectionUsable: boolean };

/** One outbound SMTP session, promise-shaped; the reply of every step is kept for classification. */
export class OutboundConnection {
  private broken = false;

  /**
   * @param smtpUtf8 the server offered SMTPUTF8 (RFC 6531) in its EHLO reply; nodemailer
   *   then adds the SMTPUTF8 parameter by itself when an address is not ASCII.
   */
  private constructor(
    private readonly conn: SMTPConnection,
    readonly smtpUtf8: boolean,
  ) {
    conn.on('error', () => (this.broken = true));
    conn.on('end', () => (this.broken = true));
  }

  static open(relay: OutboundHop, options: OutboundOptions): Promise<{ ok: true; connection: OutboundConnection } | { ok: false; reply: SmtpReply }> {
    const conn = new SMTPConnection({
      host: relay.host,
      port: relay.port,
      servername: relay.servername,
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
      const fail = (reply: SmtpReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.close();
        resolve({ ok: false, reply });
      };
      // The connect and greeting timeouts leave EHLO and STARTTLS to the long socket
      // timeout; a server that greets and then stalls must not hold the session for minutes.
      const timer = setTimeout(() => fail({ code: null, enhanced: null, text: 'ETIMEDOUT: no EHLO reply in time' }), options.connectionTimeoutMs * 2);
      conn.once('error', (err: Error) => fail(replyOf(err)));
      conn.connect(() => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const ehlo = typeof conn.lastServerResponse === 'string' ? conn.lastServerResponse : '';
        resolve({ ok: true, connection: new OutboundConnection(conn, /^250[ -]SMTPUTF8\b/im.test(ehlo)) });
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
