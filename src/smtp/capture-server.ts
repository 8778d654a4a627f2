import { SMTPServer } from 'smtp-server';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { CaptureRepository } from '../store/capture-repository.ts';
import { listen } from './listen.ts';

/**
 * The built-in sink that infrastructure `local` relays to, so a new installation shows
 * its first delivery without any outside server (like Mailpit).
 */
export async function startCaptureServer(
  port: number,
  captures: CaptureRepository,
  clock: Clock,
  log: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    banner: 'mailshift capture',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideENHANCEDSTATUSCODES: false,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        captures
          .add(
            session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            session.envelope.rcptTo.map((r) => r.address),
            Buffer.concat(chunks),
            clock.now(),
          )
          .then(
            (id) => callback(null, `Ok: captured as ${id}`),
            (err) => {
              log.error({ err }, 'capture failed');
              callback(Object.assign(new Error('Temporary local problem'), { responseCode: 451 }));
            },
          );
      });
    },
  });
  server.on('error', (err) => log.warn({ err }, 'capture session error'));
  const bound = await listen(server, port, '127.0.0.1');
  return { port: bound, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
