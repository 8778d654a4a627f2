import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mxMatches, parseStsPolicy, parseStsRecord } from './mta-sts.ts';

test('the _mta-sts TXT record: one v=STSv1 with an id', () => {
  assert.deepEqual(parseStsRecord([['v=STSv1; id=20260101T000000;']]), { ok: true, value: { id: '20260101T000000' } });
  assert.deepEqual(parseStsRecord([['v=STSv1;', ' id=abc']]), { ok: true, value: { id: 'abc' } });
  assert.equal(parseStsRecord([['v=spf1 -all']]).ok, false);
  assert.equal(parseStsRecord([['v=STSv1; id=a'], ['v=STSv1; id=b']]).ok, false);
  assert.equal(parseStsRecord([['v=STSv1; id=not-alnum!']]).ok, false);
});

test('the policy file', () => {
  const policy = parseStsPolicy('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET\r\nmax_age: 604800\r\n');
  assert.deepEqual(policy, { ok: true, value: { mode: 'enforce', mx: ['mail.example.com', '*.example.net'], maxAgeS: 604800 } });
  assert.equal(parseStsPolicy('version: STSv1\nmode: enforce\nmax_age: 60\n').ok, false, 'enforce without mx');
  assert.equal(parseStsPolicy('version: STSv2\nmode: none\nmax_age: 60\n').ok, false);
  assert.equal(parseStsPolicy('version: STSv1\nmode: strict\nmx: a.b\nmax_age: 60\n').ok, false);
  assert.equal(parseStsPolicy('version: STSv1\nmode: none\nmax_age: 99999999999\n').ok, false);
  const long = parseStsPolicy('version: STSv1\nmode: testing\nmx: a.b\nmax_age: 9999999999\n');
  assert.equal(long.ok && long.value.maxAgeS, 31_557_600, 'capped at a year');
});

test('MX patterns: exact names, and a wildcard for one label only', () => {
  assert.ok(mxMatches('mail.example.com', 'MAIL.example.com.'));
  assert.ok(mxMatches('*.example.net', 'mx1.example.net'));
  assert.ok(!mxMatches('*.example.net', 'a.mx1.example.net'));
  assert.ok(!mxMatches('*.example.net', 'example.net'));
  assert.ok(!mxMatches('mail.example.com', 'mail.example.com.evil.test'));
});
