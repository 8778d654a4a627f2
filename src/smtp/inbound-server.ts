import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { DomainError, errorCodes, type ErrorCode } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { validateAddress } from '../core/fleet/fleet-input.ts';
import type { AcceptService } from '../app/accept-service.ts';
import type { FleetService } from '../app/fleet-service.ts';
import type { TlsMaterial } from './tls.ts';
import { listen } from './listen.ts';

export interface InboundOptions {
  host: string;
  port: number;
  hostname: string;
  maxMessageBytes: number;
  maxRecipients: number;
  tls: TlsMaterial;
}

interface Session extends SMTPServerSession {
  instance?: Instance;
}

/** A thin adapter over smtp-server's hooks: every decision is the accept service's. */
export async function startInboundServer(options: InboundOptions, fleet: FleetService, acceptor: AcceptService, log: Logger): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer(<ConstructorParameters<typeof SMTPServer>[0]>{
    name: options.hostname,
    banner: 'mailshift ESMTP',
    key: options.tls.key,
    cert: options.tls.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    // Relaying by source network (allowFrom) needs no AUTH; the rest is enforced at MAIL FROM.
    authOptional: true,
    allowInsecureAuth: true,
    size: options.maxMessageBytes,
    // smtp-server then answers 552 5.3.4 itself, whatever onData says.
    rejectOversized: true,
    maxRecipients: options.maxRecipients,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    logger: false,
    disabledCommands: [],
    onAuth(auth, session, callback) {
      if (!session.secure && !isLoopback(session.remoteAddress)) {
        return callback(smtpError('auth-required', 'Must issue a STARTTLS command first'));
      }
      fleet.authenticateSmtp(auth.username ?? '', auth.password ?? '').then(
        (instance) => {
          if (!instance) return callback(smtpError('auth-failed', 'Authentication credentials invalid'));
          (session as Session).instance = instance;
          callback(null, { user: instance.name });
        },
        (err) => callback(internal(err, log)),
      );
    },
    onMailFrom(_address, session, callback) {
      const s = session as Session;
      if (s.instance) return callback();
      fleet.instanceForAddress(session.remoteAddress).then(
        (instance) => {
          if (!instance) return callback(smtpError('auth-required', 'Authentication required'));
          s.instance = instance;
          callback();
        },
        (err) => callback(internal(err, log)),
      );
    },
    onRcptTo(address, _session, callback) {
      // A bad recipient is refused alone, at RCPT, rather than failing the whole message at DATA.
      const valid = validateAddress(address.address);
      callback(valid.ok ? undefined : smtpError('invalid-address', `Recipient address rejected: ${valid.error.detail}`));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      const oversized = () => (stream as unknown as { sizeExceeded?: boolean }).sizeExceeded === true;
      // Past the limit, bytes are read and dropped: the reply will be 552 anyway.
      stream.on('data', (c: Buffer) => oversized() || chunks.push(c));
      stream.on('end', () => {
        if (oversized()) return callback(null);
        const s = session as Session;
        acceptor
          .accept({
            instance: s.instance!,
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            recipients: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
          }, 'smtp')
          .then(
            (accepted) => callback(null, `Ok: queued as ${accepted.messageId}`),
            (err) => callback(err instanceof DomainError ? smtpError(err.code, err.detail) : internal(err, log)),
          );
      });
    },
  });
  server.on('error', (err) => log.warn({ err }, 'smtp session error'));
  const port = await listen(server, options.port, options.host);
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function smtpError(code: ErrorCode, detail: string): Error & { responseCode: number } {
  const err = new Error(detail) as Error & { responseCode: number };
  err.responseCode = errorCodes[code].smtp[0];
  return err;
}

function internal(err: unknown, log: Logger): Error {
  log.error({ err }, 'smtp injection failed');
  return smtpError('unavailable', 'Temporary local problem, try again later');
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
