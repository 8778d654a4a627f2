import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Metrics } from '../metrics.ts';

export interface HttpConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Request line and headers must have arrived within this (a slow-headers flood is cut). */
  headersTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

export const defaultHttpConnectionLimits: HttpConnectionLimits = {
  maxConnections: 2000,
  maxConnectionsPerAddress: 256,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 10_000,
};

const busy = 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/**
 * Caps the HTTP door's connections, in all and per source address, so that one client
 * (or a slow-headers flood) cannot take every file descriptor and with them the SMTP
 * door and the spool. A connection past a cap is answered 503 with Retry-After and closed.
 */
export function guardConnections(server: Server, limits: HttpConnectionLimits, metrics: Metrics): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  let total = 0;
  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/i, '');
    const mine = perAddress.get(key) ?? 0;
    if (total >= limits.maxConnections || mine >= limits.maxConnectionsPerAddress) {
      metrics.busyRefusals.inc({ door: 'http', reason: total >= limits.maxConnections ? 'connections' : 'connections-per-address' });
      socket.on('error', () => undefined);
      socket.end(busy);
      socket.destroySoon();
      return;
    }
    total++;
    perAddress.set(key, mine + 1);
    socket.once('close', () => {
      total--;
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left > 0) perAddress.set(key, left);
      else perAddress.delete(key);
    });
  });
}
