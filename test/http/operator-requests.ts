import assert from 'node:assert/strict';
import type { InjectApp, InjectReply } from '../helpers/inject.ts';
import { assertProblem } from './assert-problem.ts';

export { assertProblem };

/** The body of a 2xx answer with this status. */
export function expectStatus(res: InjectReply, status: number): any {
  assert.equal(res.status, status, res.text);
  return res.body;
}

/** A request from one source address, so lockouts of one test do not reach another. */
export async function injectFrom(
  t: InjectApp,
  remoteAddress: string,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<InjectReply> {
  const res = await t.app.inject({
    method: method as 'GET',
    url,
    remoteAddress,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  let parsed: unknown = null;
  try {
    parsed = res.body ? JSON.parse(res.body) : null;
  } catch {
    parsed = null;
  }
  return { status: res.statusCode, headers: res.headers, body: parsed, text: res.body };
}

/** Tries `attempt` until it is answered 429; every try before is a 401. */
export async function untilLocked(attempt: (i: number) => Promise<InjectReply>, max = 40): Promise<InjectReply> {
  for (let i = 1; i <= max; i++) {
    const res = await attempt(i);
    if (res.status === 429) return res;
    assert.equal(res.status, 401, `try ${i} is refused as a wrong credential: ${res.text}`);
  }
  throw new Error(`still not locked after ${max} tries`);
}

export function assertLocked(res: InjectReply): void {
  assertProblem(res, 429, 'rate-limited');
  const seconds = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 900, `Retry-After ${res.headers['retry-after']}`);
}
