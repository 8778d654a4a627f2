import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressLiteral, validateAddress } from './fleet-input.ts';

test('addresses: names of two labels or more, IDN, and bracketed literals; nothing that routes by surprise', () => {
  const good = [
    'a@example.com',
    'first.last+tag@sub.example.co.uk',
    'josé@ejemplo.españa',
    'a@xn--espaa-rta.es',
    'x@[192.0.2.1]',
    'x@[IPv6:2001:db8::1]',
    'verify@mailshift.localhost',
  ];
  const bad = [
    'x@127.0.0.1',
    'x@localhost',
    'x@intranet',
    'x@[300.1.1.1]',
    'x@[IPv6:1.2.3.4]',
    'x@[::1]',
    'a@-x.com',
    'a b@example.com',
    'jo\u0000e@example.com',
    'a\u0007@example.com',
    'a@example.com\r\n',
    '"q"@example.com',
    '@example.com',
    'a@',
    `${'l'.repeat(65)}@example.com`,
    'a@exa\u200bmple.com',
  ];
  for (const a of good) assert.equal(validateAddress(a).ok, true, a);
  for (const a of bad) assert.equal(validateAddress(a).ok, false, JSON.stringify(a));
  const bare = validateAddress('x@10.0.0.1');
  assert.ok(!bare.ok && /in brackets, as \[10\.0\.0\.1\]/.test(bare.error.detail));
  assert.equal(addressLiteral('[IPv6:::1]'), '::1');
  assert.equal(addressLiteral('[10.0.0.1]'), '10.0.0.1');
  assert.equal(addressLiteral('example.com'), null);
});
