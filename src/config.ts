import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseDuration } from './core/duration.ts';
import { validateBounceRules, type BounceRule } from './core/delivery/bounce-rules.ts';
import { defaultRetryPolicy, parseRetryPolicy, type RetryPolicy } from './core/delivery/retry-schedule.ts';

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
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const dataDir = resolve(env.MAILSHIFT_DATA_DIR ?? './data');
  const retry = env.MAILSHIFT_RETRY ? parseRetryPolicy(parseJson('MAILSHIFT_RETRY', env.MAILSHIFT_RETRY)) : null;
  if (retry && !retry.ok) throw new ConfigError(`MAILSHIFT_RETRY: ${retry.error}`);
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
    hostname: env.MAILSHIFT_HOSTNAME || hostname(),
    maxMessageBytes: integer(env, 'MAILSHIFT_MAX_MESSAGE_SIZE', 25 * 1024 * 1024),
    retry: retry ? retry.policy : defaultRetryPolicy,
    bounceRules: env.MAILSHIFT_BOUNCE_RULES ? loadBounceRules(env.MAILSHIFT_BOUNCE_RULES) : undefined,
    leaseMs: integer(env, 'MAILSHIFT_LEASE_MS', 120_000),
    claimBatch: integer(env, 'MAILSHIFT_CLAIM_BATCH', 500),
    pollMs: integer(env, 'MAILSHIFT_POLL_MS', 1000),
    maxOutboundConnections: integer(env, 'MAILSHIFT_MAX_CONNECTIONS', 200),
    logLevel: env.MAILSHIFT_LOG_LEVEL || 'info',
    supportContact: env.MAILSHIFT_SUPPORT_CONTACT || `support@${env.MAILSHIFT_HOSTNAME || hostname()}`,
    noticeFrom: env.MAILSHIFT_NOTICE_FROM || `mailshift upgrades <upgrades@${env.MAILSHIFT_HOSTNAME || hostname()}>`,
    noticeInfrastructure: env.MAILSHIFT_NOTICE_INFRA || 'local',
    drainTimeoutMs: integer(env, 'MAILSHIFT_DRAIN_TIMEOUT_MS', 30_000),
    retention: {
      messagesMs: duration(env, 'MAILSHIFT_RETAIN_MESSAGES', '7d'),
      eventsMs: duration(env, 'MAILSHIFT_RETAIN_EVENTS', '30d'),
      idempotencyKeysMs: duration(env, 'MAILSHIFT_RETAIN_IDEMPOTENCY_KEYS', '24h'),
    },
  };
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

function port(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const n = integer(env, name, fallback);
  if (n > 65535) throw new ConfigError(`${name} must be a port number, got ${n}`);
  return n;
}
