import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Services } from '../app/services.ts';
import type { Database } from '../store/schema.ts';
import { SessionRepository } from '../store/session-repository.ts';
import { systemClock } from '../system-clock.ts';
import { guardedCheck, sameSecret } from './auth-door.ts';
import { bearer, sendProblem } from './problem.ts';

export type HttpServices = Services & { db: Kysely<unknown> };

export const sessionCookie = 'mailshift_session';
/** Header the console sends with every change: a cross-site form cannot set it. */
export const consoleHeader = 'x-mailshift-console';
const lifetimeMs = 12 * 3_600_000;
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Operators' sessions for the console. The cookie is `<expiry>.<nonce>.<mac>` with an HMAC
 * keyed by the admin token, so a forged cookie costs no database read and a new admin
 * token ends every session; it is valid only while its row in `sessions` is unrevoked, so
 * logging out ends it on every node. Expiry is read from the system clock on purpose: a
 * session lasts in wall time, even when the domain clock runs accelerated (tests, simulate).
 */
export class OperatorSessions {
  private readonly sessions: SessionRepository;
  private readonly adminToken: string;

  constructor(services: HttpServices) {
    this.sessions = new SessionRepository(services.db as unknown as Kysely<Database>);
    this.adminToken = services.adminToken;
  }

  async open(): Promise<{ cookie: string; expires: number }> {
    const now = systemClock.now();
    const expires = now + lifetimeMs;
    const nonce = randomBytes(12).toString('base64url');
    await this.sessions.create(sessionId(nonce), now, expires);
    return { cookie: `${expires}.${nonce}.${mac(this.adminToken, `${expires}.${nonce}`)}`, expires };
  }

  /** The request's live session, or null when it has none, a forged one, or an ended one. */
  async current(request: FastifyRequest): Promise<{ id: string; expires: number } | null> {
    const signed = this.signed(request);
    if (!signed) return null;
    return (await this.sessions.isActive(signed.id, systemClock.now())) ? signed : null;
  }

  /** Revokes the request's session, if its cookie is genuine. */
  async close(request: FastifyRequest): Promise<void> {
    const signed = this.signed(request);
    if (signed) await this.sessions.revoke(signed.id, systemClock.now());
  }

  /**
   * True when the request carries a live operator session; for a change (POST, DELETE…)
   * also the console header, so another site on the same host cannot make one.
   */
  async admits(request: FastifyRequest): Promise<boolean> {
    if (!safeMethods.has(request.method) && request.headers[consoleHeader] === undefined) return false;
    return (await this.current(request)) !== null;
  }

  private signed(request: FastifyRequest): { id: string; expires: number } | null {
    const value = readCookie(request.headers.cookie, sessionCookie);
    const m = value === undefined ? null : /^(\d{13,})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return null;
    const expires = Number(m[1]);
    if (!(expires > systemClock.now())) return null;
    return sameSecret(m[3], mac(this.adminToken, `${m[1]}.${m[2]}`)) ? { id: sessionId(m[2]), expires } : null;
  }
}

export async function sessionPlugin(app: FastifyInstance, services: HttpServices): Promise<void> {
  const sessions = new OperatorSessions(services);

  app.post('/api/session', async (request, reply) => {
    const token = ((request.body ?? {}) as { token?: unknown }).token;
    if (typeof token !== 'string' || token === '') return sendProblem(reply, 'auth-required', 'send {"token": "<admin token>"}');
    const ok = await guardedCheck(services.authGuard, 'console', request, reply, 'admin', () => (sameSecret(token, services.adminToken) ? true : null), 'the admin token is not valid');
    if (!ok) return reply;
    const { cookie, expires } = await sessions.open();
    setCookie(reply, request, cookie, lifetimeMs / 1000);
    return { operator: true, expiresAt: new Date(expires).toISOString() };
  });

  app.get('/api/session', async (request, reply) => {
    const session = await sessions.current(request);
    if (!session) return sendProblem(reply, 'auth-required', 'not signed in');
    return { operator: true, expiresAt: new Date(session.expires).toISOString() };
  });

  app.delete('/api/session', async (request, reply) => {
    await sessions.close(request);
    setCookie(reply, request, '', 0);
    return reply.code(204).send();
  });
}

/** An onRequest hook admitting the admin token (Bearer, rate-limited) or an operator session. */
export function requireOperator(services: HttpServices) {
  const sessions = new OperatorSessions(services);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(request.headers.authorization);
    if (token) {
      const ok = await guardedCheck(services.authGuard, 'admin', request, reply, 'admin', () => (sameSecret(token, services.adminToken) ? true : null), 'the admin token is not valid');
      if (!ok) return reply;
      return;
    }
    if (!(await sessions.admits(request))) return sendProblem(reply, 'auth-required', 'sign in, or send the admin token as "Authorization: Bearer <token>"');
  };
}

function sessionId(nonce: string): string {
  return createHash('sha256').update(nonce).digest('hex');
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function setCookie(reply: FastifyReply, request: FastifyRequest, value: string, maxAgeSeconds: number): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
  reply.header('cache-control', 'no-store');
}

function mac(adminToken: string, payload: string): string {
  return createHmac('sha256', `mailshift-session:${adminToken}`).update(payload).digest('base64url');
}
