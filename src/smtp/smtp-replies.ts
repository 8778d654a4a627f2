import type { SMTPServer, SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/errors.ts';
import { smtpReplies } from './reply-codes.ts';

/**
 * Replies whose enhanced status code is the one in reply-codes.ts, not smtp-server's.
 *
 * smtp-server derives the enhanced code of a hook's error from the reply code alone
 * (421 → 4.4.2, 452 → 4.2.2, 552 → 5.2.2), which for our 421 4.7.0 (locked out), 452 4.3.1
 * (out of memory budget) and 452 4.5.3 says the wrong thing, and it has no option to pass
 * one. So an error built here carries its own code at the start of its text, and
 * `carryOwnEnhancedCodes` makes the connection send such a text as it is (`send(code,
 * text, false)`: the public form for "no enhanced code of yours"). The two refusals
 * smtp-server writes on its own that are registry codes (too many recipients, message too
 * large) are sent with the table's pair too; its other replies (syntax, sequence) are left alone.
 */
export type SmtpError = Error & { responseCode: number };

const ownCode = /^([245])\.\d{1,3}\.\d{1,3} /;

/** smtp-server's own refusals by the context it sends them with (smtp-connection.js). */
const serverRefusals: Readonly<Record<string, ErrorCode>> = {
  TOO_MANY_RECIPIENTS: 'too-many-recipients',
  MESSAGE_TOO_BIG: 'message-too-large',
};

export function smtpError(code: ErrorCode, detail: string): SmtpError {
  const [reply, enhanced] = smtpReplies[code];
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
 * `send`, through which the server may also end a session itself (a 421 closes it).
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
    const registered = typeof context === 'string' && Object.hasOwn(serverRefusals, context) ? serverRefusals[context] : undefined;
    if (registered && typeof data === 'string') {
      const [reply, enhanced] = smtpReplies[registered];
      return send(reply, `${enhanced} ${data}`, false);
    }
    const own = typeof data === 'string' ? ownCode.exec(data) : null;
    send(code, data, own && own[1] === String(code)[0] ? false : context);
  };
  return connection.send;
}

function findConnection(server: SMTPServer, session: SMTPServerSession): Sender | undefined {
  for (const c of server.connections as Set<unknown> as Set<Sender>) if (c.session === session) return c;
  return undefined;
}
