import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { AttemptLimiter, defaultSourcePolicy } from '../core/auth/attempt-limiter.ts';
import type { BounceRule } from '../core/delivery/bounce-rules.ts';
import type { Rate } from '../core/delivery/throttle.ts';
import type { FeedbackReport } from '../app/feedback/feedback-report.ts';
import { parseFeedback } from '../app/feedback/parse-feedback.ts';
import { ConnectionCaps } from './connection-caps.ts';
import { SourceRates } from './feedback-source-rates.ts';
import { listen } from './listen.ts';
import { carryOwnEnhancedCodes, smtpError } from './smtp-replies.ts';
import type { TlsMaterial } from './tls.ts';

/** The envelope of one report as the listener received it. */
export interface FeedbackEnvelope {
  /** Empty for the null reverse-path that DSNs use. */
  mailFrom: string;
  recipients: string[];
  remoteAddress: string;
  receivedAt: number;
  bytes: number;
}

/** What the listener asks of the application; declared here, where it is used. */
export interface FeedbackPort {
  /** Whether mail for this address is ours: a VERP address that decodes, a complaint or unsubscribe address. */
  accepts(recipient: string): Promise<boolean> | boolean;
  /** Records one report. A rejection is answered 451, so the sender keeps it and retries. */
  received(report: FeedbackReport, envelope: FeedbackEnvelope): Promise<void>;
}

export interface FeedbackServerOptions {
  host: string;
  port: number;
  hostname: string;
  /** Bounces quote the original, so this is about the largest message sent plus a little. */
  maxMessageBytes: number;
  /**
   * Only this much of each message is kept and parsed; the rest is read and dropped. The
   * report's own parts come before the quoted original, so they survive the cut, and memory
   * stays bounded at maxClients × parseBytes.
   */
  parseBytes: number;
  maxRecipients: number;
  maxClients: number;
  maxClientsPerAddress: number;
  /** New connections per source address. */
  connectionRate: Rate;
  /** Messages (MAIL FROM) per source address. */
  messageRate: Rate;
  /** Held before the greeting, on top of smtp-server's own 100 ms: a client that talks first is refused. */
  greetingDelayMs: number;
  socketTimeoutMs: number;
  /** Offered as STARTTLS when given; most MTAs returning bounces use it opportunistically. */
  tls?: TlsMaterial;
  rules?: readonly BounceRule[];
}

export const feedbackServerDefaults = {
  maxMessageBytes: 30 * 1024 * 1024,
  parseBytes: 1024 * 1024,
  maxRecipients: 20,
  maxClients: 200,
  maxClientsPerAddress: 20,
  connectionRate: { count: 300, perMs: 60_000 },
  messageRate: { count: 3000, perMs: 60_000 },
  greetingDelayMs: 1000,
  socketTimeoutMs: 60_000,
} satisfies Partial<FeedbackServerOptions>;

interface Session extends SMTPServerSession {
  releaseSlot?: () => void;
}

/**
 * The MX of bounce domains: no AUTH, never relays (RCPT only for addresses the port calls
 * ours), size, connection and per-source rate limits, and the greeting held back for
 * early talkers. Every message is parsed and handed over; one it cannot read goes over as
 * `unparsed`.
 */
export async function startFeedbackServer(
  options: FeedbackServerOptions,
  port: FeedbackPort,
  clock: Clock,
  log: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const caps = new ConnectionCaps(options.maxClients, options.maxClientsPerAddress);
  const connections = new SourceRates(options.connectionRate);
  const messages = new SourceRates(options.messageRate);
  // Refused recipients count as failures: a source guessing VERP addresses is locked out.
  const guesses = new AttemptLimiter(defaultSourcePolicy);
  const key = (address: string) => `feedback:${address.replace(/^::ffff:(?=\d+\.)/i, '')}`;

  const server: SMTPServer = new SMTPServer(<ConstructorParameters<typeof SMTPServer>[0]>{
    name: options.hostname,
    banner: 'mailshift feedback',
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    authOptional: true,
    size: options.maxMessageBytes,
    rejectOversized: true,
    maxRecipients: options.maxRecipients,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    disableReverseLookup: true,
    socketTimeout: options.socketTimeoutMs,
    logger: false,
    onConnect(session, callback) {
      const s = session as Session;
      carryOwnEnhancedCodes(server, session, log);
      const now = clock.now();
      if (!guesses.check(key(session.remoteAddress), now).allowed || !connections.take(session.remoteAddress, now)) {
        return callback(smtpError('rate-limited', 'Too many connections or refused recipients from your address; try again later'));
      }
      const slot = caps.admit(session.remoteAddress);
      if (!slot.admitted) {
        const which = slot.reason === 'connections' ? 'Too many connections' : 'Too many connections from your address';
        return callback(smtpError('too-many-connections', `${which}, try again later`));
      }
      s.releaseSlot = slot.release;
      // smtp-server answers anything sent before the greeting with 421 "You talk too soon".
      clock.sleep(options.greetingDelayMs).then(
        () => callback(),
        () => callback(),
      );
    },
    onClose(session) {
      (session as Session).releaseSlot?.();
    },
    onMailFrom(_address, session, callback) {
      if (!messages.take(session.remoteAddress, clock.now()))
        return callback(smtpError('rate-limited', 'Too many messages from your address; try again later'));
      callback();
    },
    onRcptTo(address, session, callback) {
      const refuse = () => {
        const verdict = guesses.failure(key(session.remoteAddress), clock.now());
        callback(
          verdict.allowed
            ? smtpError('not-found', 'Recipient address rejected: no such address here')
            : smtpError('rate-limited', 'Too many refused recipients; try again later'),
        );
      };
      Promise.resolve()
        .then(() => port.accepts(address.address))
        .then(
          (ours) => (ours ? callback() : refuse()),
          (err) => {
            log.error({ err }, 'feedback recipient check failed');
            callback(smtpError('unavailable', 'Temporary local problem, try again later'));
          },
        );
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const oversized = () => (stream as unknown as { sizeExceeded?: boolean }).sizeExceeded === true;
      stream.on('data', (c: Buffer) => {
        const room = options.parseBytes - bytes;
        bytes += c.length;
        if (room > 0) chunks.push(room >= c.length ? c : c.subarray(0, room));
      });
      stream.on('end', () => {
        if (oversized()) return callback(null);
        const envelope: FeedbackEnvelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          recipients: session.envelope.rcptTo.map((r) => r.address),
          remoteAddress: session.remoteAddress,
          receivedAt: clock.now(),
          bytes,
        };
        handle(Buffer.concat(chunks), envelope).then(
          () => callback(null, 'Ok: report received'),
          (err) => {
            log.error({ err }, 'feedback report not recorded');
            callback(smtpError('unavailable', 'Temporary local problem, try again later'));
          },
        );
      });
    },
  });

  async function handle(raw: Buffer, envelope: FeedbackEnvelope): Promise<void> {
    const report = await parseFeedback(raw, { rules: options.rules });
    if (report.kind === 'unparsed')
      log.info({ remote: envelope.remoteAddress, bytes: envelope.bytes, reason: report.reason }, 'feedback message not understood');
    await port.received(report, envelope);
  }

  server.on('error', (err) => log.warn({ err }, 'feedback session error'));
  const bound = await listen(server, options.port, options.host);
  return { port: bound, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
