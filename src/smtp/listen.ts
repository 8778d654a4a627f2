import type { AddressInfo } from 'node:net';

interface Listenable {
  listen(port: number, host: string, cb: () => void): unknown;
  once(event: 'error', cb: (err: Error) => void): unknown;
  server?: { address(): AddressInfo | string | null };
  address?(): AddressInfo | string | null;
}

/** Listens and resolves with the bound port (useful with port 0). */
export function listen(server: Listenable, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = (server.server ?? (server as { address(): AddressInfo | string | null })).address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
