import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthGuard, Door } from '../app/auth-guard.ts';
import { sendProblem } from './problem.ts';

/**
 * One credential check at an HTTP door, under the shared AuthGuard: a locked source or
 * account is answered 429 before the credential is looked at; a wrong one is counted
 * (and logged by the guard) and answered 401. Returns what `verify` found, or null once
 * the refusal has been sent.
 */
export async function guardedCheck<T>(
  guard: AuthGuard,
  door: Door,
  request: FastifyRequest,
  reply: FastifyReply,
  account: string | null,
  verify: () => T | null | Promise<T | null>,
  refusal: string,
  /** Whether this success clears the account's failures (default: always). */
  clears: (found: T) => boolean = () => true,
): Promise<T | null> {
  const verdict = guard.admit(door, request.ip, account);
  if (!verdict.allowed) {
    sendRateLimited(reply, verdict.retryAfterMs);
    return null;
  }
  const found = await verify();
  if (found === null) {
    guard.failed(door, request.ip, account);
    sendProblem(reply, 'auth-failed', refusal);
    return null;
  }
  if (account !== null && clears(found)) guard.succeeded(door, account);
  return found;
}

export function sendRateLimited(reply: FastifyReply, retryAfterMs: number): FastifyReply {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  reply.header('retry-after', String(seconds));
  return sendProblem(reply, 'rate-limited', `too many failed attempts; try again in ${seconds} s`);
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
