import assert from 'node:assert/strict';
import type { InjectReply } from '../helpers/inject.ts';

/** A refusal as every route gives it: problem+json with a stable code. */
export function assertProblem(res: InjectReply, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.body.code, code, res.text);
  assert.equal(res.body.status, status);
  assert.equal(res.body.type, `urn:mailshift:problem:${code}`);
}
