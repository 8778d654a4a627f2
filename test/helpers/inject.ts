import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { composeMailshift, type ComposedMailshift } from '../../src/main.ts';
import { buildHttpApp } from '../../src/http/http-app.ts';
import type { HttpApp } from '../../src/http/typed-app.ts';
import type { Clock } from '../../src/core/clock.ts';
import { adminToken } from './harness.ts';

export interface InjectReply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: any;
  text: string;
}

export interface InjectApp {
  app: HttpApp;
  composed: ComposedMailshift;
  /** A request with the admin token. */
  admin(method: string, url: string, body?: unknown): Promise<InjectReply>;
  /** A request with an instance API key (or any bearer token). */
  api(key: string, method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<InjectReply>;
  /** A request exactly as given: no Authorization unless `headers` has one. */
  call(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<InjectReply>;
  /** A customer, an infrastructure and an instance on it; the instance's credentials. */
  instance(
    name: string,
    extra?: { infrastructure?: Record<string, unknown>; instance?: Record<string, unknown> },
  ): Promise<{ smtp: { username: string; password: string }; apiKey: string }>;
  close(): Promise<void>;
}

/**
 * The HTTP app over the real services and a real SQLite store (or `MAILSHIFT_DATABASE_URL`
 * in `env`), driven by `app.inject()`: no socket is opened and no loop runs, so nothing
 * is delivered; what is accepted stays in the spool.
 */
export async function injectApp(env: Record<string, string> = {}, options: { clock?: Clock } = {}): Promise<InjectApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-inject-'));
  const config = loadConfig({ MAILSHIFT_DATA_DIR: dataDir, MAILSHIFT_ADMIN_TOKEN: adminToken, MAILSHIFT_WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8,::1', ...env });
  const composed = await composeMailshift(config, { clock: options.clock, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  const app = await buildHttpApp(composed.services, composed.log);
  await app.ready();
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<InjectReply> => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    let parsed: unknown = null;
    try {
      parsed = res.body ? JSON.parse(res.body) : null;
    } catch {
      parsed = null;
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text: res.body };
  };
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  let customers = 0;
  return {
    app,
    composed,
    call,
    admin: (method, url, body) => call(method, url, body, auth(adminToken)),
    api: (key, method, url, body, headers = {}) => call(method, url, body, { ...auth(key), ...headers }),
    async instance(name, extra = {}) {
      const customer = `c${++customers}-${name}`;
      const admin = (url: string, body: unknown) => call('POST', url, body, auth(adminToken));
      const c = await admin('/api/admin/v1/customers', { name: customer, contacts: [{ email: `ops@${customer}.example` }] });
      if (c.status !== 201) throw new Error(`customer: ${c.text}`);
      const infra = await admin('/api/admin/v1/infrastructures', { name: `infra-${name}`, relays: ['127.0.0.1:2525'], ...extra.infrastructure });
      if (infra.status !== 201) throw new Error(`infrastructure: ${infra.text}`);
      const res = await admin('/api/admin/v1/instances', {
        name,
        customer,
        productLine: 'managed-cloud',
        environment: 'production',
        infrastructure: `infra-${name}`,
        ...extra.instance,
      });
      if (res.status !== 201) throw new Error(`instance: ${res.text}`);
      return res.body.credentials;
    },
    async close() {
      await app.close();
      await composed.services.acceptor.flush();
      await composed.closeStore();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
