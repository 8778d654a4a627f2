import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseDuration } from './core/duration.ts';
import { validateBounceRules, type BounceRule } from './core/delivery/bounce-rules.ts';
import { defaultRetryPolicy, parseRetryPolicy, type RetryPolicy } from './core/delivery/retry-schedule.ts';
import { parseNetworkList, type Network } from './core/net/ip-address.ts';
import { parseRoles, type NodeRole } from './core/cluster/nodes.ts';

export interface Config {
  databaseUrl: string;
  /** PostgreSQL schema (created if missing); default: the connection's search_path. */
  databaseSchema?: string;
  dataDir: string;
  host: string;
  smtpPort: number;
  httpPort: number;
  /** Port of the built-in capture server that infrastructure `local` relays to; 0 picks a free one. */
  capturePort: number;
  /** Undefined: read or create `<dataDir>/admin-token`. */
  adminToken?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  hostname: string;
  maxMessageBytes: number;
  retry: RetryPolicy;
  /** Replaces the default SMTP reply classification (a JSON file of rules). */
  bounceRules?: BounceRule[];
  /** How long a claimed delivery stays leased before another worker may take it. */
  leaseMs: number;
  /** Deliveries claimed per poll. */
  claimBatch: number;
  /** Idle poll interval; new injections wake the engine at once. */
  pollMs: number;
  /** Bound on concurrent outbound SMTP connections across all destinations. */
  maxOutboundConnections: number;
  logLevel: string;
  /** Support contact printed in upgrade notices when a program names none. */
  supportContact: string;
  /** Sender of upgrade notices, and the infrastructure they leave through. */
  noticeFrom: string;
  noticeInfrastructure: string;
  /** How long a switch waits for in-flight deliveries before it rolls back. */
  drainTimeoutMs: number;
  /** How long finished messages, events and idempotency keys are kept. */
  retention: { messagesMs: number; eventsMs: number; idempotencyKeysMs: number };
  /** Reserved networks (loopback, private…) that webhooks may still target; none by default. */
  webhookAllowNetworks: readonly Network[];
  /** Reserved networks that direct-MX delivery may still connect to; none by default. */
  mxAllowNetworks: readonly Network[];
  /** DNS servers (`host:port`, or a bare address for port 53) for MX and TXT look-ups; empty: the system's. */
  dnsServers: readonly string[];
  maxWebhooksPerInstance: number;
  /** Bearer token for `/metrics` besides the admin token; unset, only the admin token. */
  metricsToken?: string;
  /** Total bytes a batch may render to (all recipients together). */
  batchMaxRenderedBytes: number;
  /** Concurrent inbound SMTP connections, in all and from one source address. */
  smtpMaxClients: number;
  smtpMaxClientsPerAddress: number;
  /** HTTP connections in all and per source address. */
  httpConnections: { maxConnections: number; maxConnectionsPerAddress: number };
  /** How long an SMTP session may go without AUTH (or a MAIL FROM from an allowed network). */
  smtpIdentifyMs: number;
  /** Held before the injection door's greeting (early-talker detection); 0: greet at once. */
  smtpGreetingDelayMs: number;
  /** Message bytes held in memory across all SMTP and HTTP submissions in progress. */
  maxInflightBytes: number;
  /** Bytes of SMTP messages in progress spilled to `<dataDir>/incoming` at once. */
  maxSpillBytes: number;
  /** How long a submission waits for room in that budget before it is told to come back later. */
  inflightWaitMs: number;
  /** Outbound TCP connect and greeting timeout. */
  connectTimeoutMs: number;
  /** What this node does; all four by default (see `nodeRoles`). */
  roles: readonly NodeRole[];
  /** A node not seen for this long is dead; it heartbeats five times as often. */
  nodeTtlMs: number;
  /** How long the leader's lease lasts unrenewed; it renews three times as often. */
  leaderLeaseMs: number;
  /**
   * Seals secrets at rest (relay passwords, DKIM private keys) and signs VERP addresses and
   * unsubscribe links: 32 bytes, hex or base64, the same on every node; undefined: read or
   * create `<dataDir>/secret-key`.
   */
  secretKey?: string;
  /** PEM certificates trusted for outbound TLS besides the system's roots (`verify` policy). */
  outboundTlsCa?: string;
  /** How long a rotated-out DKIM key's DNS record stays needed (the key verifies mail already sent). */
  dkimGraceMs: number;
  /** The feedback listener (MX of bounce domains) on `host`; 0 picks a free port. */
  feedbackPort: number;
  /** Complaint (feedback loop) mailboxes the feedback listener takes mail for, besides `fbl@<bounce domain>`. */
  feedbackMailboxes: readonly string[];
  /** Base of one-click unsubscribe links (`<publicUrl>/u/<token>`). */
  publicUrl: string;
  /** An instance whose complaints pass this share of its deliveries in 24 h, over at least `complaintMinDeliveries`, is suspended. */
  complaintThreshold: number;
  complaintMinDeliveries: number;
}

/** A token an attacker could guess or a person chose: too short, or too few distinct characters. */
export function weakTokenReason(token: string): string | null {
  if (token.length < 20) return `it has ${token.length} characters; at least 20 are needed`;
  if (new Set(token).size < 8) return 'it repeats too few distinct characters';
  return null;
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const dataDir = resolve(env.MAILSHIFT_DATA_DIR ?? './data');
  const retry = env.MAILSHIFT_RETRY ? parseRetryPolicy(parseJson('MAILSHIFT_RETRY', env.MAILSHIFT_RETRY)) : null;
  if (retry && !retry.ok) throw new ConfigError(`MAILSHIFT_RETRY: ${retry.error}`);
  const host = env.MAILSHIFT_HOSTNAME || hostname();
  // Default addresses need a fully qualified domain; a bare machine name gets Debian's `.localdomain`.
  const mailDomain = host.includes('.') ? host : `${host}.localdomain`;
  const config: Config = {
    databaseUrl: env.MAILSHIFT_DATABASE_URL || join(dataDir, 'mailshift.db'),
    databaseSchema: env.MAILSHIFT_DATABASE_SCHEMA || undefined,
    dataDir,
    host: env.MAILSHIFT_HOST ?? '127.0.0.1',
    smtpPort: port(env, 'MAILSHIFT_SMTP_PORT', 2525),
    httpPort: port(env, 'MAILSHIFT_HTTP_PORT', 8025),
    capturePort: port(env, 'MAILSHIFT_CAPTURE_PORT', 2526),
    adminToken: env.MAILSHIFT_ADMIN_TOKEN || undefined,
    tlsCertPath: env.MAILSHIFT_TLS_CERT || undefined,
    tlsKeyPath: env.MAILSHIFT_TLS_KEY || undefined,
    hostname: host,
    maxMessageBytes: integer(env, 'MAILSHIFT_MAX_MESSAGE_SIZE', 25 * 1024 * 1024),
    retry: retry ? retry.policy : defaultRetryPolicy,
    bounceRules: env.MAILSHIFT_BOUNCE_RULES ? loadBounceRules(env.MAILSHIFT_BOUNCE_RULES) : undefined,
    leaseMs: integer(env, 'MAILSHIFT_LEASE_MS', 120_000),
    claimBatch: integer(env, 'MAILSHIFT_CLAIM_BATCH', 500),
    pollMs: integer(env, 'MAILSHIFT_POLL_MS', 1000),
    maxOutboundConnections: integer(env, 'MAILSHIFT_MAX_CONNECTIONS', 200),
    logLevel: env.MAILSHIFT_LOG_LEVEL || 'info',
    supportContact: env.MAILSHIFT_SUPPORT_CONTACT || `support@${mailDomain}`,
    noticeFrom: env.MAILSHIFT_NOTICE_FROM || `mailshift upgrades <upgrades@${mailDomain}>`,
    noticeInfrastructure: env.MAILSHIFT_NOTICE_INFRA || 'local',
    drainTimeoutMs: integer(env, 'MAILSHIFT_DRAIN_TIMEOUT_MS', 30_000),
    retention: {
      messagesMs: duration(env, 'MAILSHIFT_RETAIN_MESSAGES', '7d'),
      eventsMs: duration(env, 'MAILSHIFT_RETAIN_EVENTS', '30d'),
      idempotencyKeysMs: duration(env, 'MAILSHIFT_RETAIN_IDEMPOTENCY_KEYS', '24h'),
    },
    webhookAllowNetworks: networks(env, 'MAILSHIFT_WEBHOOK_ALLOW_NETWORKS'),
    mxAllowNetworks: networks(env, 'MAILSHIFT_MX_ALLOW_NETWORKS'),
    dnsServers: dnsServers(env.MAILSHIFT_DNS_SERVERS),
    maxWebhooksPerInstance: integer(env, 'MAILSHIFT_MAX_WEBHOOKS', 10),
    metricsToken: env.MAILSHIFT_METRICS_TOKEN || undefined,
    batchMaxRenderedBytes: integer(env, 'MAILSHIFT_BATCH_MAX_BYTES', 64 * 1024 * 1024),
    smtpMaxClients: integer(env, 'MAILSHIFT_SMTP_MAX_CLIENTS', 1000),
    smtpMaxClientsPerAddress: integer(env, 'MAILSHIFT_SMTP_MAX_CLIENTS_PER_ADDRESS', 100),
    smtpIdentifyMs: integer(env, 'MAILSHIFT_SMTP_IDENTIFY_TIMEOUT_MS', 30_000),
    smtpGreetingDelayMs: integer(env, 'MAILSHIFT_SMTP_GREETING_DELAY_MS', 0),
    httpConnections: {
      maxConnections: integer(env, 'MAILSHIFT_HTTP_MAX_CONNECTIONS', 2000),
      maxConnectionsPerAddress: integer(env, 'MAILSHIFT_HTTP_MAX_CONNECTIONS_PER_ADDRESS', 256),
    },
    maxInflightBytes: integer(env, 'MAILSHIFT_MAX_INFLIGHT_BYTES', 512 * 1024 * 1024),
    maxSpillBytes: integer(env, 'MAILSHIFT_MAX_SPILL_BYTES', 2 * 1024 * 1024 * 1024),
    inflightWaitMs: integer(env, 'MAILSHIFT_INFLIGHT_WAIT_MS', 10_000),
    connectTimeoutMs: integer(env, 'MAILSHIFT_CONNECT_TIMEOUT_MS', 10_000),
    roles: roles(env.MAILSHIFT_ROLES),
    nodeTtlMs: integer(env, 'MAILSHIFT_NODE_TTL_MS', 10_000),
    leaderLeaseMs: integer(env, 'MAILSHIFT_LEADER_LEASE_MS', 15_000),
    secretKey: env.MAILSHIFT_SECRET_KEY || undefined,
    outboundTlsCa: env.MAILSHIFT_TLS_CA_FILE ? readCaFile(env.MAILSHIFT_TLS_CA_FILE) : undefined,
    dkimGraceMs: duration(env, 'MAILSHIFT_DKIM_GRACE', '7d'),
    feedbackPort: port(env, 'MAILSHIFT_FEEDBACK_PORT', 2527),
    feedbackMailboxes: mailboxes(env.MAILSHIFT_FEEDBACK_MAILBOXES),
    publicUrl: publicUrl(env.MAILSHIFT_PUBLIC_URL, env.MAILSHIFT_HOST ?? '127.0.0.1', port(env, 'MAILSHIFT_HTTP_PORT', 8025)),
    complaintThreshold: fraction(env, 'MAILSHIFT_COMPLAINT_THRESHOLD', 0.003),
    complaintMinDeliveries: integer(env, 'MAILSHIFT_COMPLAINT_MIN_DELIVERIES', 1000),
  };
  for (const [name, token] of [
    ['MAILSHIFT_ADMIN_TOKEN', config.adminToken],
    ['MAILSHIFT_METRICS_TOKEN', config.metricsToken],
    ['MAILSHIFT_SECRET_KEY', config.secretKey],
  ] as const) {
    const weak = token === undefined ? null : weakTokenReason(token);
    if (weak) throw new ConfigError(`${name} is too weak: ${weak}`);
  }
  return Object.freeze(config);
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${name} is not valid JSON`);
  }
}

function integer(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function loadBounceRules(path: string): BounceRule[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`MAILSHIFT_BOUNCE_RULES: cannot read ${path}: ${(err as Error).message}`);
  }
  const rules = validateBounceRules(parseJson('MAILSHIFT_BOUNCE_RULES', text));
  if (!rules.ok) throw new ConfigError(`MAILSHIFT_BOUNCE_RULES: ${rules.error}`);
  return rules.rules;
}

function duration(env: Record<string, string | undefined>, name: string, fallback: string): number {
  const ms = parseDuration(env[name] || fallback);
  if (ms === null) throw new ConfigError(`${name} must be a duration such as 7d or 12h, got "${env[name]}"`);
  return ms;
}

function networks(env: Record<string, string | undefined>, name: string): Network[] {
  const parsed = parseNetworkList(env[name] ?? '');
  if (!parsed.ok)
    throw new ConfigError(`${name} must be a comma-separated list of CIDRs such as 127.0.0.0/8, got ${parsed.bad.map((b) => JSON.stringify(b)).join(', ')}`);
  return parsed.networks;
}

function port(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const n = integer(env, name, fallback);
  if (n > 65535) throw new ConfigError(`${name} must be a port number, got ${n}`);
  return n;
}

function readCaFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`MAILSHIFT_TLS_CA_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`MAILSHIFT_TLS_CA_FILE: ${path} holds no PEM certificate`);
  return text;
}

function dnsServers(value: string | undefined): string[] {
  const servers = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const server of servers) {
    const m = /^(?:\[([0-9a-f:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/i.exec(server);
    const p = m?.[3] === undefined ? 53 : Number(m[3]);
    if (!m || p < 1 || p > 65535)
      throw new ConfigError(`MAILSHIFT_DNS_SERVERS must be a comma-separated list of addresses such as 127.0.0.1:5353 or [::1]:53, got "${server}"`);
  }
  return servers;
}

function roles(value: string | undefined): NodeRole[] {
  const parsed = parseRoles(value);
  if (!parsed.ok) throw new ConfigError(`MAILSHIFT_ROLES: ${parsed.error}`);
  return parsed.roles;
}

function fraction(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n >= 1) throw new ConfigError(`${name} must be a fraction between 0 and 1 such as 0.003, got "${raw}"`);
  return n;
}

function mailboxes(value: string | undefined): string[] {
  const list = (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const m of list)
    if (!/^[^\s@<>]+@[a-z0-9.-]+\.[a-z0-9-]+$/.test(m))
      throw new ConfigError(`MAILSHIFT_FEEDBACK_MAILBOXES must be a comma-separated list of addresses, got "${m}"`);
  return list;
}

function publicUrl(value: string | undefined, host: string, httpPort: number): string {
  if (!value) return `http://${host.includes(':') ? `[${host}]` : host}:${httpPort}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`MAILSHIFT_PUBLIC_URL must be a URL such as https://mail.example.net, got "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`MAILSHIFT_PUBLIC_URL must be an http(s) URL, got "${value}"`);
  return value.replace(/\/+$/, '');
}
