import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionLifetimeMs } from '../app/operator-sessions.ts';
import type { Services } from '../app/services.ts';
import { guardedCheck, sameSecret } from './auth-door.ts';
import { bearer, sendProblem } from './problem.ts';
import { NoContent, responses } from './schemas/common.ts';
import { Session, SessionBody } from './schemas/session.ts';
import type { HttpApp } from './typed-app.ts';

/** What the operators' door needs: the admin token, the lockout guard and the sessions. */
export type OperatorDoor = Pick<Services, 'adminToken' | 'authGuard' | 'operatorSessions'>;

export const sessionCookie = 'mailshift_session';
/** Header the console sends with every change: a cross-site form cannot set it. */
export const consoleHeader = 'x-mailshift-console';
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const tags = ['session'];

/** Signing in to the console with the admin token, and out again (see app/operator-sessions.ts). */
export async function sessionPlugin(app: HttpApp, services: OperatorDoor): Promise<void> {
  const sessions = services.operatorSessions;
  app.addHook('preValidation', absentBodyIsEmpty);

  app.post(
    '/api/session',
    {
      schema: {
        tags,
        summary: 'Sign in to the console with the admin token; sets the session cookie',
        body: SessionBody,
        response: responses({ 200: Session }),
      },
    },
    async (request, reply) => {
      const token = request.body?.token;
      if (token === undefined || token === '') return sendProblem(reply, 'auth-required', 'send {"token": "<admin token>"}');
      const ok = await guardedCheck(
        services.authGuard,
        'console',
        request,
        reply,
        'admin',
        () => (sameSecret(token, services.adminToken) ? true : null),
        'the admin token is not valid',
      );
      if (!ok) return reply;
      const { cookie, expires } = await sessions.open();
      setCookie(reply, request, cookie, sessionLifetimeMs / 1000);
      return { operator: true as const, expiresAt: new Date(expires).toISOString() };
    },
  );

  app.get('/api/session', { schema: { tags, summary: 'The current console session', response: responses({ 200: Session }) } }, async (request, reply) => {
    const session = await sessions.current(cookieOf(request));
    if (!session) return sendProblem(reply, 'auth-required', 'not signed in');
    return { operator: true as const, expiresAt: new Date(session.expires).toISOString() };
  });

  app.delete(
    '/api/session',
    { schema: { tags, summary: 'Sign out: the session ends on every node', response: responses({ 204: NoContent }) } },
    async (request, reply) => {
      await sessions.close(cookieOf(request));
      setCookie(reply, request, '', 0);
      return reply.code(204).send(null);
    },
  );
}

/**
 * An onRequest hook admitting the admin token (Bearer, rate-limited) or an operator
 * session; a change (POST, DELETE…) made with the session also needs the console header,
 * so another site on the same host cannot make one.
 */
export function requireOperator(services: OperatorDoor) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(request.headers.authorization);
    if (token) {
      const ok = await guardedCheck(
        services.authGuard,
        'admin',
        request,
        reply,
        'admin',
        () => (sameSecret(token, services.adminToken) ? true : null),
        'the admin token is not valid',
      );
      if (!ok) return reply;
      return;
    }
    const admitted =
      (safeMethods.has(request.method) || request.headers[consoleHeader] !== undefined) &&
      (await services.operatorSessions.current(cookieOf(request))) !== null;
    if (!admitted) return sendProblem(reply, 'auth-required', 'sign in, or send the admin token as "Authorization: Bearer <token>"');
  };
}

/**
 * A change sent without a body (`curl -X POST`, `fetch` with no body) is read as `{}`, as
 * before routes had body schemas, instead of failing with "body must be object".
 */
export async function absentBodyIsEmpty(request: FastifyRequest): Promise<void> {
  if (request.body === undefined && !safeMethods.has(request.method)) request.body = {};
}

function cookieOf(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === sessionCookie) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function setCookie(reply: FastifyReply, request: FastifyRequest, value: string, maxAgeSeconds: number): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
  reply.header('cache-control', 'no-store');
}
