import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import nodemailer from 'nodemailer';
import { loadConfig } from '../../src/config.ts';
import { startMailshift, type RunningMailshift, type StartOptions } from '../../src/main.ts';
import type { Clock } from '../../src/core/clock.ts';

export const adminToken = 'test-admin-token-5f3a9c81d2e7b604';

export interface Harness {
  app: RunningMailshift;
  dataDir: string;
  url: string;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  api(key: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /** A customer, an infrastructure relaying to `relays` and an instance on it, with credentials. */
  instance(name: string, relays: string[], extra?: Record<string, unknown>): Promise<{ smtp: { username: string; password: string }; apiKey: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  clock?: Clock;
  /** Reuse a data directory (a restart) and leave it in place on close. */
  dataDir?: string;
  /** Direct-MX look-ups and port (see StartOptions.mx). */
  mx?: StartOptions['mx'];
}

/** Starts a real mailshift (SQLite in a temp dir, or `databaseUrl`) on free loopback ports. */
export async function startHarness(env: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'mailshift-test-'));
  const config = loadConfig({
    MAILSHIFT_DATA_DIR: dataDir,
    MAILSHIFT_SMTP_PORT: '0',
    MAILSHIFT_HTTP_PORT: '0',
    MAILSHIFT_CAPTURE_PORT: '0',
    MAILSHIFT_FEEDBACK_PORT: '0',
    MAILSHIFT_ADMIN_TOKEN: adminToken,
    MAILSHIFT_POLL_MS: '100',
    // Test receivers (webhooks, MX hosts) listen on loopback, which production refuses.
    MAILSHIFT_WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8,::1',
    MAILSHIFT_MX_ALLOW_NETWORKS: '127.0.0.0/8,::1',
    ...env,
  });
  const app = await startMailshift(config, { clock: options.clock, mx: options.mx, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  const url = `http://127.0.0.1:${app.httpPort}`;
  const call = async (auth: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };
  let customers = 0;
  return {
    app,
    dataDir,
    url,
    admin: (method, path, body) => call(adminToken, method, path, body),
    api: (key, method, path, body, headers) => call(key, method, path, body, headers),
    async instance(name, relays, extra = {}) {
      const customer = `c${++customers}-${name}`;
      await call(adminToken, 'POST', '/api/admin/v1/customers', { name: customer, contacts: [{ email: `ops@${customer}.example` }] });
      const infra = await call(adminToken, 'POST', '/api/admin/v1/infrastructures', { name: `infra-${name}`, relays, ...(extra.infrastructure as object) });
      if (infra.status !== 201) throw new Error(`infra: ${JSON.stringify(infra.body)}`);
      const res = await call(adminToken, 'POST', '/api/admin/v1/instances', {
        name,
        customer,
        productLine: 'managed-cloud',
        environment: 'production',
        infrastructure: `infra-${name}`,
        ...(extra.instance as object),
      });
      if (res.status !== 201) throw new Error(`instance: ${JSON.stringify(res.body)}`);
      return res.body.credentials;
    },
    async close() {
      await app.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function smtpClient(port: number, auth?: { username: string; password: string }, pool = false) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    pool,
    auth: auth ? { user: auth.username, pass: auth.password } : undefined,
    tls: { rejectUnauthorized: false },
  } as Parameters<typeof nodemailer.createTransport>[0]);
}

/** Polls `check` until it returns true or the time runs out. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
