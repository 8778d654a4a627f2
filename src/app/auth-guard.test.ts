import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { AuthGuard } from './auth-guard.ts';
import { Metrics } from '../metrics.ts';

const clock = { now: () => 1_000_000, sleep: async () => undefined };
const guard = () =>
  new AuthGuard(clock, new Metrics(async () => []), pino({ level: 'silent' }), {
    source: { maxFailures: 3, windowMs: 60_000, lockMs: 30_000, maxLockMs: 60_000 },
    account: { maxFailures: 5, windowMs: 60_000, lockMs: 30_000, maxLockMs: 60_000 },
  });

test('an IPv6 /64 is one source, and an IPv4-mapped address is its IPv4 one', () => {
  const g = guard();
  g.failed('api', '2001:db8:1:2::a', null);
  g.failed('api', '2001:db8:1:2:ffff::b', null);
  assert.equal(g.failed('api', '2001:db8:1:2:1:2:3:4', null).allowed, false, 'three addresses of one /64 lock it');
  assert.equal(g.admit('api', '2001:db8:1:3::1', null).allowed, true, 'the next /64 is another source');
  g.failed('smtp', '::ffff:192.0.2.7', null);
  g.failed('smtp', '192.0.2.7', null);
  assert.equal(g.failed('smtp', '::ffff:192.0.2.7', null).allowed, false);
  assert.equal(g.admit('smtp', '192.0.2.7', null).allowed, false);
});

test('a locked account refuses the sources that failed, not one that never did', () => {
  const g = guard();
  for (let i = 1; i <= 5; i++) g.failed('smtp', `198.51.100.${i}`, 'acme-prod');
  assert.equal(g.admit('smtp', '198.51.100.1', 'acme-prod').allowed, false, 'a guesser is refused');
  assert.equal(g.admit('smtp', '198.51.100.1', 'other').allowed, true, 'other accounts are untouched');
  assert.equal(g.admit('smtp', '203.0.113.9', 'acme-prod').allowed, true, 'the owner elsewhere gets in');
});
