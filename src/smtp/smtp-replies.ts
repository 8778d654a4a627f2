import type { SMTPServer, SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { errorCodes, type ErrorCode } from '../core/errors.ts';

/**
 * Replies whose enhanced status code is the error registry's, not smtp-server's.
 *
 * smtp-server derives the enhanced code of a hook's error from the reply code alone
 * (421 → 4.4.2, 452 → 4.2.2), which for our 421 4.7.0 (locked out) and 452 4.3.1 (out of
 * memory budget) says the wrong thing, and it has no option to pass one. So an error built
 * here carries its own code at the start of its text, and `carryOwnEnhancedCodes` makes the
 * connection send such a text as it is (`send(code, text, false)`: the public form for
 * "no enhanced code of yours"). Replies smtp-server writes on its own are left alone.
 */
export type SmtpError = Error & { responseCode: number };

const ownCode = /^([245])\.\d{1,3}\.\d{1,3} /;

export function smtpError(code: ErrorCode, detail: string): SmtpError {
  const [reply, enhanced] = errorCodes[code].smtp;
  const err = new Error(`${enhanced} ${detail}`) as SmtpError;
  err.responseCode = reply;
  return err;
}

interface Sender {
  session: SMTPServerSession;
  send(code: number, data?: string | string[] | null, context?: string | false): void;
}

/**
 * Once per connection, from onConnect, before any hook can fail. Returns the connection's
 * `send`, through which the server may also end an idle session itself (a 421 closes it).
 */
export function carryOwnEnhancedCodes(server: SMTPServer, session: SMTPServerSession, log: Logger): Sender['send'] | undefined {
  const connection = findConnection(server, session);
  if (!connection) {
    // Replies still go out, with smtp-server's enhanced codes; worth knowing if it happens.
    log.warn('smtp connection not found for its session; replies keep the default enhanced codes');
    return undefined;
  }
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    const own = typeof data === 'string' ? ownCode.exec(data) : null;
    send(code, data, own && own[1] === String(code)[0] ? false : context);
  };
  return connection.send;
}

function findConnection(server: SMTPServer, session: SMTPServerSession): Sender | undefined {
  for (const c of server.connections as Set<unknown> as Set<Sender>) if (c.session === session) return c;
  return undefined;
}
