/**
 * Every expected failure has a stable code and a title, here, and nothing else: each door
 * maps a code to its own reply beside its adapter (http/problem-codes.ts,
 * smtp/reply-codes.ts), as an exhaustive record, so a code added here without a reply on
 * both doors does not compile. The README's list of error codes is checked against all three
 * (test/error-registry.test.ts).
 */
export const errorCodes = {
  'auth-required': { title: 'Authentication required' },
  'auth-failed': { title: 'Authentication credentials invalid' },
  forbidden: { title: 'Not allowed for this instance' },
  'not-found': { title: 'Not found' },
  conflict: { title: 'Conflict' },
  'invalid-request': { title: 'Invalid request' },
  'invalid-address': { title: 'Invalid address' },
  'header-injection': { title: 'Line breaks are not allowed in header fields' },
  'malformed-message': { title: 'Malformed message' },
  'message-too-large': { title: 'Message too large' },
  'too-many-recipients': { title: 'Too many recipients' },
  'no-recipients': { title: 'No valid recipients' },
  'idempotency-mismatch': { title: 'Idempotency key reused with a different request' },
  'template-error': { title: 'Template error' },
  'reschedule-refused': { title: 'Reschedule request refused' },
  'opt-out-refused': { title: 'Opt-out refused' },
  'invalid-state': { title: 'Not possible in the current state' },
  unavailable: { title: 'Temporarily unavailable' },
  'rate-limited': { title: 'Too many failed attempts; try again later' },
  'server-busy': { title: 'Too busy to take this now; try again later' },
  'too-many-connections': { title: 'Too many connections; try again later' },
  'idle-timeout': { title: 'No AUTH or MAIL FROM in time; the session is closed' },
  'limit-reached': { title: 'A limit of this instance is reached' },
  'smtputf8-required': { title: 'A UTF-8 address needs SMTPUTF8' },
} as const satisfies Record<string, { title: string }>;

export type ErrorCode = keyof typeof errorCodes;

export interface Failure {
  code: ErrorCode;
  detail: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: Failure };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, detail: string): Result<T> {
  return { ok: false, error: { code, detail } };
}

/** Thrown by services when an expected failure must cross an adapter boundary. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}
