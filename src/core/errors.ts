/** Every expected failure has a stable code; HTTP and SMTP replies are derived from this
 * one table (see http/problem.ts and smtp/inbound-server.ts), so both doors refuse alike.
 * SMTP enhanced status codes are written by smtp-server from the reply code, so each
 * code here is one whose RFC 3463 mapping there is the one we mean. */
export const errorCodes = {
  'auth-required': { http: 401, smtp: [530, '5.7.0'], title: 'Authentication required' },
  'auth-failed': { http: 401, smtp: [535, '5.7.8'], title: 'Authentication credentials invalid' },
  forbidden: { http: 403, smtp: [557, '5.7.1'], title: 'Not allowed for this instance' },
  'not-found': { http: 404, smtp: [550, '5.1.1'], title: 'Not found' },
  conflict: { http: 409, smtp: [451, '4.3.0'], title: 'Conflict' },
  'invalid-request': { http: 400, smtp: [501, '5.5.4'], title: 'Invalid request' },
  'invalid-address': { http: 400, smtp: [553, '5.1.3'], title: 'Invalid address' },
  'header-injection': { http: 400, smtp: [554, '5.6.0'], title: 'Line breaks are not allowed in header fields' },
  'malformed-message': { http: 400, smtp: [554, '5.6.0'], title: 'Malformed message' },
  'message-too-large': { http: 413, smtp: [552, '5.3.4'], title: 'Message too large' },
  'too-many-recipients': { http: 400, smtp: [452, '4.5.3'], title: 'Too many recipients' },
  'no-recipients': { http: 400, smtp: [554, '5.6.0'], title: 'No valid recipients' },
  'idempotency-mismatch': { http: 422, smtp: [554, '5.6.0'], title: 'Idempotency key reused with a different request' },
  'template-error': { http: 400, smtp: [554, '5.6.0'], title: 'Template error' },
  'reschedule-refused': { http: 409, smtp: [550, '5.7.1'], title: 'Reschedule request refused' },
  'opt-out-refused': { http: 409, smtp: [550, '5.7.1'], title: 'Opt-out refused' },
  'invalid-state': { http: 409, smtp: [451, '4.3.0'], title: 'Not possible in the current state' },
  unavailable: { http: 503, smtp: [451, '4.3.0'], title: 'Temporarily unavailable' },
  'rate-limited': { http: 429, smtp: [421, '4.7.0'], title: 'Too many failed attempts; try again later' },
  'server-busy': { http: 503, smtp: [452, '4.3.1'], title: 'Too busy to take this now; try again later' },
  'limit-reached': { http: 409, smtp: [452, '4.5.3'], title: 'A limit of this instance is reached' },
  'smtputf8-required': { http: 400, smtp: [553, '5.6.7'], title: 'A UTF-8 address needs SMTPUTF8' },
} as const satisfies Record<string, { http: number; smtp: readonly [number, string]; title: string }>;

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
