import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import type { AcceptService } from '../app/accept-service.ts';
import { asciiAddress } from '../app/idn-address.ts';
import type { AuthGuard } from '../app/auth-guard.ts';
import type { FleetService } from '../app/fleet-service.ts';
import { InflightBudget } from '../app/inflight-budget.ts';
import type { Metrics } from '../metrics.ts';
import type { TlsMaterial } from './tls.ts';
import { listen } from './listen.ts';
import { ConnectionCaps } from './connection-caps.ts';
import { setGreetingDelay } from './greeting-delay.ts';
import { prepareIncomingDir, receiveMessage } from './incoming-message.ts';
import { carryOwnEnhancedCodes, smtpError, type SmtpError } from './smtp-replies.ts';

export interface InboundOptions {
  host: string;
  port: number;
  hostname: string;
  maxMessageBytes: number;
  maxRecipients: number;
  tls: TlsMaterial;
  dataDir: string;
  maxClients: number;
  maxClientsPerAddress: number;
  /** How long a message at end of DATA waits for room in the memory budget. */
  inflightWaitMs: number;
  /** Bytes of messages in progress spilled to `<dataDir>/incoming` at once, across sessions. */
  maxSpillBytes: number;
  /** Messages up to this size are held in memory while they arrive; larger ones go to a temp file. */
  memoryBytes?: number;
  /** How long a session may go without AUTH (or a MAIL FROM from an allowed network). */
  identifyMs?: number;
  /** Failed AUTH attempts one session may make before it is disconnected. */
  maxAuthFailuresPerSession?: number;
  /**
   * A failed AUTH is answered this long after it arrived, whatever the check took, so the
   * reply's timing tells nothing (a known name's row takes a few µs longer to read than none).
   */
  authFailureReplyMs?: number;
  /** Held before the greeting; 0 by default (see greeting-delay.ts). */
  greetingDelayMs?: number;
}

/** What guards the door besides the accept service: lockouts, the memory budget, counters. */
export interface InboundGuards {
  authGuard: AuthGuard;
  inflight: InflightBudget;
  metrics: Metrics;
}

interface Session extends SMTPServerSession {
  instance?: Instance;
  closed?: boolean;
  /** Ends the session with a 421 refusal (smtp-server closes the connection after it). */
  end?: (refusal: SmtpError) => void;
  idleTimer?: NodeJS.Timeout;
  authFailures?: number;
  releaseSlot?: () => void;
}

/** A thin adapter over smtp-server's hooks: every decision is the accept service's or a guard's. */
export async function startInboundServer(
  options: InboundOptions,
  fleet: FleetService,
  acceptor: AcceptService,
  guards: InboundGuards,
  log: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const { authGuard, inflight, metrics } = guards;
  const caps = new ConnectionCaps(options.maxClients, options.maxClientsPerAddress);
  const maxAuthFailures = options.maxAuthFailuresPerSession ?? 3;
  const failureReplyMs = options.authFailureReplyMs ?? 100;
  const identifyMs = options.identifyMs ?? 30_000;
  /** Sessions that have neither authenticated nor been recognised by network, oldest first. */
  const unidentified = new Set<Session>();
  const identified = (s: Session) => {
    clearTimeout(s.idleTimer);
    unidentified.delete(s);
  };
  const evictIdle = (): boolean => {
    const oldest = unidentified.values().next().value as Session | undefined;
    if (!oldest) return false;
    identified(oldest);
    oldest.releaseSlot?.();
    metrics.busyRefusals.inc({ door: 'smtp', reason: 'evicted-unidentified' });
    oldest.end?.(smtpError('too-many-connections', 'Too many connections; an unidentified session makes room'));
    return true;
  };
  const incoming = {
    budget: inflight,
    disk: new InflightBudget(options.maxSpillBytes),
    dir: join(options.dataDir, 'incoming'),
    memoryBytes: options.memoryBytes ?? 1024 * 1024,
  };
  prepareIncomingDir(incoming.dir);

  const server: SMTPServer = new SMTPServer(<ConstructorParameters<typeof SMTPServer>[0]>{
    name: options.hostname,
    banner: 'mailshift ESMTP',
    key: options.tls.key,
    cert: options.tls.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    // Relaying by source network (allowFrom) needs no AUTH; the rest is enforced at MAIL FROM.
    authOptional: true,
    allowInsecureAuth: true,
    size: options.maxMessageBytes,
    // smtp-server then answers 552 itself, whatever onData says (with the registry's enhanced code, see smtp-replies.ts).
    rejectOversized: true,
    maxRecipients: options.maxRecipients,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    logger: false,
    disabledCommands: [],
    // Nothing uses the client's PTR name, and a lookup per connection is a lever for floods.
    disableReverseLookup: true,
    onConnect(session, callback) {
      const s = session as Session;
      const send = carryOwnEnhancedCodes(server, session, log);
      s.end = (refusal) => send?.(refusal.responseCode, refusal.message);
      let slot = caps.admit(session.remoteAddress);
      // Full: the oldest session that has not identified itself makes room, so idle
      // connections cannot keep every client out.
      if (!slot.admitted && slot.reason === 'connections' && evictIdle()) slot = caps.admit(session.remoteAddress);
      if (!slot.admitted) {
        metrics.busyRefusals.inc({ door: 'smtp', reason: slot.reason });
        const which = slot.reason === 'connections' ? 'Too many connections' : 'Too many connections from your address';
        return callback(smtpError('too-many-connections', `${which}, try again later`));
      }
      s.releaseSlot = slot.release;
      unidentified.add(s);
      s.idleTimer = setTimeout(() => {
        metrics.busyRefusals.inc({ door: 'smtp', reason: 'unidentified' });
        s.end?.(smtpError('idle-timeout', `No AUTH or MAIL FROM within ${Math.round(identifyMs / 1000)} s, closing`));
      }, identifyMs);
      callback();
    },
    onClose(session) {
      const s = session as Session;
      s.closed = true;
      identified(s);
      s.releaseSlot?.();
    },
    onAuth(auth, session, callback) {
      const s = session as Session;
      const source = session.remoteAddress;
      const user = auth.username ?? '';
      if (!session.secure && !isLoopback(source)) {
        return callback(smtpError('auth-required', 'Must issue a STARTTLS command first'));
      }
      const admitted = authGuard.admit('smtp', source, user);
      if (!admitted.allowed) return callback(lockedOut(admitted.retryAfterMs));
      const arrived = performance.now();
      fleet.authenticateSmtp(user, auth.password ?? '').then(
        (instance) => {
          if (instance) {
            authGuard.succeeded('smtp', user);
            s.instance = instance;
            identified(s);
            return callback(null, { user: instance.name });
          }
          const verdict = authGuard.failed('smtp', source, user);
          s.authFailures = (s.authFailures ?? 0) + 1;
          // 421 closes the connection: a guesser has to reconnect, and is refused there once locked.
          const refusal = !verdict.allowed
            ? lockedOut(verdict.retryAfterMs)
            : s.authFailures >= maxAuthFailures
              ? smtpError('rate-limited', 'Too many failed authentication attempts in this session')
              : smtpError('auth-failed', 'Authentication credentials invalid');
          setTimeout(() => callback(refusal), Math.max(0, arrived + failureReplyMs - performance.now()));
        },
        (err) => callback(internal(err, log)),
      );
    },
    onMailFrom(address, session, callback) {
      const s = session as Session;
      const resolved = s.instance ? Promise.resolve(s.instance) : fleet.instanceForAddress(session.remoteAddress);
      resolved.then(
        (instance) => {
          if (!instance) return callback(smtpError('auth-required', 'Authentication required'));
          s.instance = instance;
          identified(s);
          const refusal = address.address === '' ? null : addressRefusal(address.address, session.envelope.smtpUtf8 === true, 'Sender');
          if (refusal) return callback(refusal);
          // Nothing could be taken in now: say so before the client sends the message.
          if (inflight.inUse >= inflight.limit) {
            metrics.busyRefusals.inc({ door: 'smtp', reason: 'memory' });
            return callback(smtpError('server-busy', 'Too much mail in progress, try again later'));
          }
          callback();
        },
        (err) => callback(internal(err, log)),
      );
    },
    onRcptTo(address, session, callback) {
      // A bad recipient is refused alone, at RCPT, rather than failing the whole message at DATA.
      callback(addressRefusal(address.address, session.envelope.smtpUtf8 === true, 'Recipient') ?? undefined);
    },
    onData(stream, session, callback) {
      const s = session as Session;
      const oversized = () => (stream as unknown as { sizeExceeded?: boolean }).sizeExceeded === true;
      receiveMessage(stream, incoming, oversized)
        .then(async (message) => {
          // Over the size limit: smtp-server answers 552 itself.
          if (!message) return callback(null);
          const loaded = await message.load(options.inflightWaitMs);
          if (!loaded) {
            metrics.busyRefusals.inc({ door: 'smtp', reason: 'memory' });
            return callback(smtpError('server-busy', 'Too much mail in progress, try again later'));
          }
          // The client left while the message waited for memory: it never hears a 250 and
          // will send again, so accepting it now would deliver it twice.
          if (s.closed) {
            loaded.release();
            return callback(smtpError('unavailable', 'Connection closed before the message was accepted'));
          }
          try {
            const accepted = await acceptor.accept(
              {
                instance: s.instance!,
                mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                recipients: session.envelope.rcptTo.map((r) => r.address),
                raw: loaded.raw,
              },
              'smtp',
            );
            callback(null, `Ok: queued as ${accepted.messageId}`);
          } finally {
            // After the commit (or the refusal): the spool has the bytes now.
            loaded.release();
          }
        })
        .catch((err) => {
          if (err instanceof DomainError) return callback(smtpError(err.code, err.detail));
          // The client left mid-message: nobody hears the reply, and nothing went wrong here.
          if (clientLeft(err)) return callback(smtpError('unavailable', 'Connection closed before the end of data'));
          callback(internal(err, log));
        });
    },
  });
  server.on('error', (err) => log.warn({ err }, 'smtp session error'));
  setGreetingDelay(server, options.greetingDelayMs ?? 0);
  const port = await listen(server, options.port, options.host);
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function lockedOut(retryAfterMs: number): SmtpError {
  return smtpError('rate-limited', `Too many failed authentication attempts, try again in ${Math.ceil(retryAfterMs / 1000)} s`);
}

/** Refuses an envelope address at its command; UTF-8 in a local part only under SMTPUTF8. */
function addressRefusal(address: string, smtpUtf8: boolean, role: 'Sender' | 'Recipient'): SmtpError | null {
  // As the spool will store it (A-label domain): one that cannot convert is refused here, not at DATA.
  const valid = asciiAddress(address);
  if (!valid.ok) return smtpError('invalid-address', `${role} address rejected: ${valid.error.detail}`);
  // smtp-server turns an A-label domain into Unicode, so only the local part tells what the client sent.
  const local = address.slice(0, address.lastIndexOf('@'));
  if (!smtpUtf8 && /[^\x00-\x7f]/.test(local))
    return smtpError('smtputf8-required', `${role} address has UTF-8 in its local part; send MAIL FROM with SMTPUTF8`);
  return null;
}

function clientLeft(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ECONNECTION' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function internal(err: unknown, log: Logger): Error {
  log.error({ err }, 'smtp injection failed');
  return smtpError('unavailable', 'Temporary local problem, try again later');
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
