import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../app/services.ts';
import { systemClock } from '../system-clock.ts';
import { bearer, sendProblem } from './problem.ts';

export const sessionCookie = 'mailshift_session';
/** Header the console sends with every change: a cross-site form cannot set it. */
export const consoleHeader = 'x-mailshift-console';
const lifetimeMs = 12 * 3_600_000;
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Operators' sessions for the console. The cookie is `<expiry>.<nonce>.<mac>` with an HMAC
 * keyed by the admin token, so no session table is needed and a new admin token ends every
 * session. Expiry is read from the system clock on purpose: a session lasts in wall time,
 * even when the domain clock runs accelerated (tests, simulate).
 */
export async function sessionPlugin(app: FastifyInstance, services: Services): Promise<void> {
  app.post('/api/session', async (request, reply) => {
    const token = ((request.body ?? {}) as { token?: unknown }).token;
    if (typeof token !== 'string' || token === '') return sendProblem(reply, 'auth-required', 'send {"token": "<admin token>"}');
    if (!sameSecret(token, services.adminToken)) return sendProblem(reply, 'auth-failed', 'the admin token is not valid');
    const expires = systemClock.now() + lifetimeMs;
    const nonce = randomBytes(12).toString('base64url');
    const value = `${expires}.${nonce}.${mac(services.adminToken, `${expires}.${nonce}`)}`;
    setCookie(reply, request, value, lifetimeMs / 1000);
    return { operator: true, expiresAt: new Date(expires).toISOString() };
  });

  app.get('/api/session', async (request, reply) => {
    const expires = sessionExpiry(request.headers.cookie, services.adminToken);
    if (expires === null) return sendProblem(reply, 'auth-required', 'not signed in');
    return { operator: true, expiresAt: new Date(expires).toISOString() };
  });

  app.delete('/api/session', async (request, reply) => {
    setCookie(reply, request, '', 0);
    return reply.code(204).send();
  });
}

/**
 * True when the request carries a valid operator session cookie; for a change (POST,
 * DELETE…) also the console header, so another site on the same host cannot make one.
 */
export function hasOperatorSession(request: FastifyRequest, adminToken: string): boolean {
  if (sessionExpiry(request.headers.cookie, adminToken) === null) return false;
  return safeMethods.has(request.method) || request.headers[consoleHeader] !== undefined;
}

/** An onRequest hook admitting the admin token (Bearer) or an operator session. */
export function requireOperator(adminToken: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(request.headers.authorization);
    if (token) {
      if (!sameSecret(token, adminToken)) return sendProblem(reply, 'auth-failed', 'the admin token is not valid');
      return;
    }
    if (!hasOperatorSession(request, adminToken)) return sendProblem(reply, 'auth-required', 'sign in, or send the admin token as "Authorization: Bearer <token>"');
  };
}

function sessionExpiry(cookieHeader: string | undefined, adminToken: string): number | null {
  const value = readCookie(cookieHeader, sessionCookie);
  const m = value === undefined ? null : /^(\d{13,})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return null;
  const expires = Number(m[1]);
  if (!(expires > systemClock.now())) return null;
  return sameSecret(m[3], mac(adminToken, `${m[1]}.${m[2]}`)) ? expires : null;
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

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
