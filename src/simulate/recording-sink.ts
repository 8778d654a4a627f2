import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../core/clock.ts';

export interface Received {
  simId: string | null;
  canary: boolean;
  at: number;
}

/**
 * A loopback SMTP sink for `simulate`: it reads only the headers that say which
 * simulated message arrived, and when (on the simulation's clock).
 */
export class RecordingSink {
  readonly received: Received[] = [];
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(clock: Clock, options: { refuseCanary?: boolean } = {}): Promise<RecordingSink> {
    const received: Received[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        let head = '';
        stream.on('data', (c: Buffer) => {
          if (head.length < 4096) head += c.toString('latin1');
        });
        stream.on('end', () => {
          const canary = /^X-Mailshift-Canary: 1/im.test(head);
          if (canary && options.refuseCanary) return callback(Object.assign(new Error('5.7.1 canary refused'), { responseCode: 550 }));
          received.push({ simId: /^X-Sim-Id: (\S+)/im.exec(head)?.[1] ?? null, canary, at: clock.now() });
          callback();
        });
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sink = new RecordingSink(server, (server.server.address() as AddressInfo).port);
    (sink as { received: Received[] }).received = received;
    return sink;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
