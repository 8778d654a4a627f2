import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideOutcome } from './outcome.ts';
import { defaultRetryPolicy } from './retry-schedule.ts';

const policy = defaultRetryPolicy;
const now = 1_000_000_000;
const fresh = { attempts: 0, expiresAt: now + policy.maxAgeMs, now };

test('a 250 reply is delivered', () => {
  assert.deepEqual(decideOutcome({ code: 250, enhanced: '2.0.0', text: '250 2.0.0 ok' }, fresh, policy), { kind: 'delivered' });
});

test('an unknown user bounces and is suppressed', () => {
  const d = decideOutcome({ code: 550, enhanced: '5.1.1', text: '550 5.1.1 no such user' }, fresh, policy);
  assert.deepEqual(d, { kind: 'bounced', category: 'unknown-user', suppress: true });
});

test('a policy block bounces without suppressing the address', () => {
  const d = decideOutcome({ code: 554, enhanced: '5.7.1', text: '554 5.7.1 blocked using zen.spamhaus.org' }, fresh, policy);
  assert.equal(d.kind, 'bounced');
  assert.equal(d.kind === 'bounced' && d.suppress, false);
});

test('a first deferral retries after the initial delay', () => {
  const d = decideOutcome({ code: 451, enhanced: '4.3.0', text: '451 4.3.0 try later' }, fresh, policy);
  assert.deepEqual(d, { kind: 'deferred', category: 'other', retryAt: now + policy.initialDelayMs });
});

test('a deferral past the expiry expires', () => {
  const d = decideOutcome({ code: null, enhanced: null, text: 'ECONNREFUSED' }, { attempts: 20, expiresAt: now, now }, policy);
  assert.deepEqual(d, { kind: 'expired', category: 'connection' });
});

test('held time shifts expiry: the same age with a later expiry still retries', () => {
  const held = 2 * 86_400_000;
  const old = { attempts: 20, expiresAt: now + held, now };
  const d = decideOutcome({ code: 421, enhanced: '4.4.2', text: '421 closing' }, old, policy);
  assert.equal(d.kind, 'deferred');
});
