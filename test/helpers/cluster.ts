import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import pg from 'pg';
import { testDatabases, type TestDatabase } from './databases.ts';
import { serverEnv, spawnServer, waitForHealthy, type ServerProcess } from './process.ts';

/**
 * Several `mailshift serve` processes on one fresh PostgreSQL schema, with short cluster
 * timings, for tests of what a cluster does when nodes share work and die.
 */

export const clusterToken = 'cluster-test-admin-token-3b8e1f6c9a2d';

/** Short timings (a node is found dead after 2 s, a leader's lease lapses after 3 s) and webhooks to loopback. */
export const clusterEnv: Record<string, string> = {
  MAILSHIFT_NODE_TTL_MS: '2000',
  MAILSHIFT_LEADER_LEASE_MS: '3000',
  MAILSHIFT_LEASE_MS: '10000',
  MAILSHIFT_POLL_MS: '200',
  MAILSHIFT_WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
  // One secret for the cluster, as the README asks: what one node seals or signs, any other opens.
  MAILSHIFT_SECRET_KEY: randomBytes(32).toString('hex'),
};

/** Why the cluster tests are skipped, or false when they run. */
export const clusterSkip: string | false = testDatabases().find((d) => d.name === 'postgres')!.skip;

export interface AdminReply {
  status: number;
  body: any;
}

export class ClusterNode {
  constructor(
    /** A, B, C…: how tests and their messages name it. */
    readonly name: string,
    readonly server: ServerProcess,
    readonly url: string,
    readonly smtpPort: number,
    readonly dataDir: string,
  ) {}

  get pid(): number {
    return this.server.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.server.alive;
  }

  /** An admin API request through this node. */
  async admin(method: string, path: string, body?: unknown): Promise<AdminReply> {
    return request(this.url + path, method, clusterToken, body);
  }

  /** An instance API request through this node. */
  async api(key: string, method: string, path: string, body?: unknown): Promise<AdminReply> {
    return request(this.url + path, method, key, body);
  }
}

async function request(url: string, method: string, token: string, body?: unknown): Promise<AdminReply> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: kept as text for the failure message.
  }
  return { status: res.status, body: parsed };
}

/** The reply, or an error naming the request and what came back. */
export async function ok(reply: Promise<AdminReply>, what = 'request'): Promise<AdminReply> {
  const r = await reply;
  if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r;
}

export interface ClusterOptions {
  nodes: number;
  /** Settings for every node, on top of `clusterEnv`. */
  env?: Record<string, string>;
}

export class Cluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly db: TestDatabase,
    private readonly pool: pg.Pool,
    private readonly ttlMs: number,
  ) {}

  /**
   * Starts `nodes` processes on a new schema. The first starts alone (it migrates the
   * schema and makes infrastructure `local`), the others then together.
   */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const db = await testDatabases()
      .find((d) => d.name === 'postgres')!
      .create();
    const pool = new pg.Pool({ connectionString: db.url, max: 3, options: `-c search_path="${db.schema}"` });
    const ttlMs = Number(options.env?.MAILSHIFT_NODE_TTL_MS ?? clusterEnv.MAILSHIFT_NODE_TTL_MS);
    const cluster = new Cluster([], db, pool, ttlMs);
    try {
      const spawnNode = async (i: number) => {
        const dataDir = mkdtempSync(join(tmpdir(), `mailshift-node-${i}-`));
        const { env, url } = await serverEnv(dataDir, clusterToken, { ...db.env, ...clusterEnv, ...options.env });
        const node = new ClusterNode(String.fromCharCode(65 + i), spawnServer(env), url, Number(env.MAILSHIFT_SMTP_PORT), dataDir);
        cluster.nodes.push(node);
        await waitForHealthy(url, node.server, 30_000);
      };
      await spawnNode(0);
      await Promise.all(Array.from({ length: options.nodes - 1 }, (_, i) => spawnNode(i + 1)));
      cluster.nodes.sort((a, b) => a.name.localeCompare(b.name));
      // Every node registered, and a leader elected, before a test relies on either.
      await waitUntil(
        async () => (await cluster.liveNodeIds()).length === options.nodes && (await cluster.leader()) !== undefined,
        15_000,
        async () => `nodes ${JSON.stringify(await cluster.query('select id, last_seen_at from nodes'))}, leader ${JSON.stringify(await cluster.leader())}`,
      );
      return cluster;
    } catch (err) {
      const output = cluster.nodes.map((n) => `--- node ${n.name}:\n${n.server.output()}`).join('\n');
      await cluster.close();
      throw new Error(`${(err as Error).message}\n${output}`);
    }
  }

  /** A query on the cluster's schema, for what the API does not show (the lease, switch logs, the event log). */
  async query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(text, params)).rows as T[];
  }

  /** The node holding an unexpired leader lease, with the lease's epoch. */
  async leader(): Promise<{ node: ClusterNode | undefined; holder: string; epoch: number } | undefined> {
    const [row] = await this.query<{ holder: string; epoch: string; expires_at: string }>("select holder, epoch, expires_at from leases where name = 'leader'");
    if (!row || Number(row.expires_at) < Date.now()) return undefined;
    return { node: this.byNodeId(row.holder), holder: row.holder, epoch: Number(row.epoch) };
  }

  /** Node ids are `<host>:<pid>:<random>`. */
  byNodeId(id: string): ClusterNode | undefined {
    const pid = Number(id.split(':').at(-2));
    return this.nodes.find((n) => n.pid === pid);
  }

  /** Nodes seen within their time to live. */
  async liveNodeIds(): Promise<string[]> {
    const rows = await this.query<{ id: string }>('select id from nodes where stopped_at is null and last_seen_at > $1', [Date.now() - this.ttlMs]);
    return rows.map((r) => r.id);
  }

  get alive(): ClusterNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** Every node's last output, for failure messages. */
  output(): string {
    return this.nodes.map((n) => `--- node ${n.name} (pid ${n.pid}${n.alive ? '' : ', exited'}):\n${n.server.output()}`).join('\n');
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.server.stop('SIGKILL');
    await this.pool.end().catch(() => undefined);
    await this.db.drop().catch(() => undefined);
    for (const n of this.nodes) rmSync(n.dataDir, { recursive: true, force: true });
  }
}

/** Polls `check` every 100 ms; after `timeoutMs` throws with `explain()`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, explain: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (await check()) return;
  throw new Error(`after ${timeoutMs} ms: ${await explain()}`);
}

/** A customer, an infrastructure relaying to `relay` and a production instance on it; its credentials. */
export async function clusterInstance(
  node: ClusterNode,
  name: string,
  relay: string,
  infrastructure: Record<string, unknown> = {},
): Promise<{ smtp: { username: string; password: string }; apiKey: string }> {
  await ok(node.admin('POST', '/api/admin/v1/customers', { name: `${name}-customer`, contacts: [{ email: `ops@${name}.example` }] }), 'customer');
  await ok(node.admin('POST', '/api/admin/v1/infrastructures', { name: `${name}-infra`, relays: [relay], ...infrastructure }), 'infrastructure');
  const created = await ok(
    node.admin('POST', '/api/admin/v1/instances', {
      name,
      customer: `${name}-customer`,
      productLine: 'managed-cloud',
      environment: 'production',
      infrastructure: `${name}-infra`,
    }),
    'instance',
  );
  return created.body.credentials;
}

/** The identity of one submission: its sequence number and which try it was. */
export interface Submission {
  seq: number;
  attempt: number;
}

export interface InjectTarget {
  node: ClusterNode;
  transport: Transporter;
}

/** A pooled SMTP client to a node; a session cut by a kill fails its message at once instead of resending it. */
export function smtpPool(node: ClusterNode, auth: { username: string; password: string }, sessions: number): InjectTarget {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: node.smtpPort,
    secure: false,
    pool: true,
    maxConnections: sessions,
    maxMessages: Infinity,
    maxRequeues: 0,
    auth: { user: auth.username, pass: auth.password },
    // Loopback: AUTH is allowed in clear, and TLS would spend the test's little CPU.
    ignoreTLS: process.env.PROBE_TLS !== '1',
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 15_000,
  });
  return { node, transport };
}

export interface InjectResult {
  accepted: Submission[];
  failed: { submission: Submission; node: string; error: string }[];
}

/**
 * Sends each sequence number once, `sessions` at a time per target, spread over the
 * targets; a target's workers stop taking messages once its node is not alive. Each
 * message carries X-Seq and X-Try, which the sink counts by.
 */
export async function injectAcross(
  targets: InjectTarget[],
  seqs: number[],
  attempt: number,
  sessions: number,
  hooks: { onAccepted?: (count: number, node: ClusterNode) => void } = {},
): Promise<InjectResult> {
  const result: InjectResult = { accepted: [], failed: [] };
  let next = 0;
  const worker = async (target: InjectTarget) => {
    while (next < seqs.length && target.node.alive) {
      const seq = seqs[next++];
      try {
        const info = await target.transport.sendMail({
          from: 'bulk@sender.example',
          to: `r${seq}@receiver.example`,
          subject: `cluster ${seq}`,
          text: `message ${seq}, try ${attempt}\n`,
          headers: { 'X-Seq': String(seq), 'X-Try': String(attempt) },
        });
        if (!/^250[ -]/.test(String(info.response))) throw new Error(`unexpected reply: ${info.response}`);
        result.accepted.push({ seq, attempt });
        hooks.onAccepted?.(result.accepted.length, target.node);
      } catch (err) {
        result.failed.push({ submission: { seq, attempt }, node: target.node.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  await Promise.all(targets.flatMap((t) => Array.from({ length: sessions }, () => worker(t))));
  return result;
}

/** `seq:try` of a message at a sink, from its X-Seq and X-Try headers; null for one without them. */
export function submissionOf(raw: string): string | null {
  const end = raw.indexOf('\r\n\r\n');
  const headers = end < 0 ? raw : raw.slice(0, end);
  const seq = /^X-Seq:\s*(\d+)\s*$/im.exec(headers);
  const attempt = /^X-Try:\s*(\d+)\s*$/im.exec(headers);
  return seq && attempt ? `${seq[1]}:${attempt[1]}` : null;
}

export interface PostedEvent {
  id: number;
  type: string;
  webhook: number;
}

/** An HTTP endpoint on loopback that records the webhook events posted to it. */
export class WebhookReceiver {
  readonly posts: { at: number; events: PostedEvent[] }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        try {
          const parsed = JSON.parse(body) as { webhook: number; events: { id: number; type: string }[] };
          receiver.posts.push({ at: Date.now(), events: parsed.events.map((e) => ({ id: e.id, type: e.type, webhook: parsed.webhook })) });
          res.writeHead(204).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    receiver = new WebhookReceiver(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/events`;
  }

  /** How many times each event id was posted. */
  counts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const p of this.posts) for (const e of p.events) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    return counts;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
