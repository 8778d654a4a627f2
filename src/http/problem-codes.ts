import type { ErrorCode } from '../core/errors.ts';

/**
 * The HTTP status each error code is answered with. Exhaustive by type: a code added to
 * the registry (core/errors.ts) without a status here does not compile. Codes only the SMTP
 * door answers (too-many-connections, idle-timeout) are mapped too, to what they would mean
 * over HTTP, so the record stays total.
 */
export const problemStatus: Readonly<Record<ErrorCode, number>> = {
  'auth-required': 401,
  'auth-failed': 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'invalid-request': 400,
  'invalid-address': 400,
  'header-injection': 400,
  'malformed-message': 400,
  'message-too-large': 413,
  'too-many-recipients': 400,
  'no-recipients': 400,
  'idempotency-mismatch': 422,
  'template-error': 400,
  'reschedule-refused': 409,
  'opt-out-refused': 409,
  'invalid-state': 409,
  unavailable: 503,
  'rate-limited': 429,
  'server-busy': 503,
  'too-many-connections': 503,
  'idle-timeout': 408,
  'limit-reached': 409,
  'smtputf8-required': 400,
};

/** A bug or broken infrastructure rather than an expected failure, so it has no registry code. */
export const internalProblem = { code: 'internal', status: 500, title: 'Internal error' } as const;
