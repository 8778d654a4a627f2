import { rootCertificates, type TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpReply } from '../core/delivery/bounce-rules.ts';
import { parseEnhancedStatus } from '../core/delivery/bounce-rules.ts';
import type { Relay, TlsPolicy } from '../core/fleet/fleet.ts';

export interface OutboundOptions {
  heloName: string;
  localAddress?: string;
  connectionTimeoutMs: number;
  socketTimeoutMs: number;
  /** Default `opportunistic`. */
  tls?: TlsPolicy;
  /** PEM certificates trusted besides the system's roots. */
  ca?: string;
  /** The relay's login, its password in clear: sent only over TLS, never logged. */
  login?: { user: string; password: string };
}

/** How a session was protected: null in plaintext; `verified` when the chain and the host name checked out. */
export type TlsOutcome = { version: string; verified: boolean } | null;

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
    readonly hop: OutboundHop,
    readonly tls: TlsOutcome,
  ) {
    conn.on('error', () => (this.broken = true));
    conn.on('end', () => (this.broken = true));
  }

  /**
   * A session with `relay`, or why not: `answered` when the server is up and talking but the
   * session did not meet the TLS policy or its login was refused (a verdict on this
   * infrastructure's terms, not on the server's health).
   */
  static open(
    relay: OutboundHop,
    options: OutboundOptions,
  ): Promise<{ ok: true; connection: OutboundConnection } | { ok: false; reply: SmtpReply; answered?: boolean }> {
    const policy = options.tls ?? 'opportunistic';
    // A login is never sent in clear: it needs TLS whatever the policy.
    const requireTLS = policy !== 'opportunistic' || options.login !== undefined;
    const conn = new SMTPConnection({
      host: relay.host,
      port: relay.port,
      secure: relay.secure === true,
      servername: relay.servername,
      name: options.heloName,
      localAddress: options.localAddress,
      connectionTimeout: options.connectionTimeoutMs,
      greetingTimeout: options.connectionTimeoutMs,
      socketTimeout: options.socketTimeoutMs,
      // Opportunistic STARTTLS, as between MTAs, unless the policy requires it: servers often
      // present private certificates, so only `verify` refuses one that does not check out.
      // The outcome of the check is recorded either way.
      opportunisticTLS: !requireTLS,
      requireTLS,
      tls: { rejectUnauthorized: policy === 'verify', ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}) },
      allowInternalNetworkInterfaces: true,
      logger: false,
    });
    return new Promise((resolve) => {
      let settled = false;
      const fail = (reply: SmtpReply, answered = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.close();
        resolve({ ok: false, reply, ...(answered ? { answered } : {}) });
      };
      // The connect and greeting timeouts leave EHLO and STARTTLS to the long socket
      // timeout; a server that greets and then stalls must not hold the session for minutes.
      const timer = setTimeout(() => fail({ code: null, enhanced: null, text: 'ETIMEDOUT: no EHLO reply in time' }), options.connectionTimeoutMs * 2);
      conn.once('error', (err: Error) => {
        const tls = tlsFailure(conn, err);
        fail(
          tls ? tlsReply(replyOf(err), err, options.login ? 'relay login' : policy === 'opportunistic' ? null : `policy ${policy}`, relay) : replyOf(err),
          tls,
        );
      });
      conn.connect(() => {
        if (settled) return;
        const ehlo = typeof conn.lastServerResponse === 'string' ? conn.lastServerResponse : '';
        const done = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ ok: true, connection: new OutboundConnection(conn, /^250[ -]SMTPUTF8\b/im.test(ehlo), relay, tlsOutcome(conn)) });
        };
        if (!options.login) return done();
        if (!conn.secure) return fail({ code: null, enhanced: null, text: 'the relay offers no TLS: its login is not sent in clear' }, true);
        conn.login({ user: options.login.user, pass: options.login.password }, (err) => {
          if (err) fail({ ...replyOf(err), text: `login as ${options.login?.user} refused: ${replyOf(err).text}` }, true);
          else done();
        });
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

/** The protocol and whether the certificate checked out, read off the TLS socket. */
function tlsOutcome(conn: SMTPConnection): TlsOutcome {
  if (!conn.secure) return null;
  // nodemailer keeps its socket private; after STARTTLS (or with `secure`) it is a TLSSocket.
  const socket = (conn as unknown as { _socket?: TLSSocket })._socket;
  return { version: socket?.getProtocol?.() ?? 'unknown', verified: socket?.authorized === true };
}

/** No STARTTLS where it is required, or a handshake that failed (a certificate refused). */
function tlsFailure(conn: SMTPConnection, err: Error): boolean {
  const code = (err as { code?: string }).code;
  if (code === 'ETLS') return true;
  const upgrading = (conn as unknown as { upgrading?: boolean }).upgrading === true;
  return code === 'ESOCKET' && (upgrading || /certificate|altnames|SSL|TLS/i.test(err.message));
}

/** A failed TLS set-up says what required it (`required`: a policy, a login; null: nothing did), so the deferral reads plainly. */
function tlsReply(reply: SmtpReply, err: unknown, required: string | null, hop: OutboundHop): SmtpReply {
  const name = hop.servername ?? hop.host;
  const cause = reply.code !== null ? `${name} offers no STARTTLS (${reply.text.trim()})` : `${name}: ${(err as Error).message}`;
  return { code: null, enhanced: null, text: `TLS ${required ? `required (${required})` : 'failed'}: ${cause}` };
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
