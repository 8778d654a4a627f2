import { configure, startNode } from './cluster-node.ts';

export interface MailshiftServer {
  pid: number;
  smtpPort: number;
  /** GET /api/admin/v1/queue → total. */
  queueTotals(): Promise<Record<string, number>>;
  /** VmHWM of the server process, in kB. */
  peakRssKb(): number;
  /** Last lines of the server's log (for error reports). */
  logTail(): string;
  stop(): Promise<void>;
}

/**
 * Spawns the server as `npm start` runs it (`node build/cli/main.js serve`, see serverEntry) on a fresh data directory (SQLite, the durable
 * defaults) and sets up one instance that may inject from loopback without AUTH, on an
 * infrastructure relaying to the sink. `roles`: MAILSHIFT_ROLES (all by default).
 */
export async function startMailshiftServer(sinkPort: number, options: { dkim?: boolean; roles?: string } = {}): Promise<MailshiftServer> {
  const node = await startNode({ env: options.roles ? { MAILSHIFT_ROLES: options.roles } : {} });
  try {
    await configure(node, sinkPort, options);
  } catch (err) {
    await node.stop();
    throw err;
  }
  return {
    pid: node.pid,
    smtpPort: node.smtpPort,
    queueTotals: async () => (await node.admin('GET', '/queue')).total,
    peakRssKb: node.peakRssKb,
    logTail: node.logTail,
    stop: node.stop,
  };
}
