import type { SMTPServer } from 'smtp-server';

/** The parts of smtp-server's connection object that its start-up goes through. */
interface StartingConnection {
  init(): void;
  _setListeners?(ready: () => void): void;
  connectionReady?(): void;
}

/**
 * Sets how long the server waits before its greeting. smtp-server always waits 100 ms, to
 * catch clients that talk before the greeting (spambots aimed at an MX). The injection door
 * gains nothing from that — every session must authenticate or come from an allowed network
 * before it may send — and an application that opens a connection per message pays it on
 * every one. An untrusted door (the feedback listener) keeps a delay of its own.
 *
 * smtp-server has no option for this: the connection's start-up is replaced before it runs,
 * and left as it is when its internals are not the ones this was written against.
 */
export function setGreetingDelay(server: SMTPServer, delayMs: number): void {
  const connections = (server as unknown as { connections?: Set<StartingConnection> }).connections;
  if (!(connections instanceof Set)) return;
  const add = connections.add.bind(connections);
  connections.add = (connection: StartingConnection) => {
    const { _setListeners: listen, connectionReady: ready } = connection;
    if (typeof listen === 'function' && typeof ready === 'function') {
      connection.init = () =>
        listen.call(connection, () => {
          if (delayMs <= 0) return ready.call(connection);
          setTimeout(() => ready.call(connection), delayMs).unref();
        });
    }
    return add(connection);
  };
}
