import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReserved, mayConnect, parseIp, parseNetwork, parseNetworkList } from './ip-address.ts';

test('parses IPv4 and IPv6 text, refusing look-alikes', () => {
  assert.deepEqual(parseIp('192.0.2.1'), { family: 4, value: 0xc0000201n });
  assert.deepEqual(parseIp('::1'), { family: 6, value: 1n });
  assert.deepEqual(parseIp('2001:db8::8:800:200c:417a'), { family: 6, value: 0x20010db80000000000080800200c417an });
  assert.equal(parseIp('::ffff:127.0.0.1')?.value, 0xffff7f000001n);
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', '2130706433', '::1::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'localhost', '', '12345::']) {
    assert.equal(parseIp(bad), null, bad);
  }
});

test('reserved ranges, including IPv4 carried in IPv6', () => {
  const reserved = [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '0.0.0.0',
    '100.64.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:7f00:1::1',
    '2001:db8::1',
    '::ffff:0:7f00:1',
    '64:ff9b:1::7f00:1',
    '64:ff9b:1::808:808',
  ];
  const open = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '2a00:1450:4001::1', '::ffff:8.8.8.8'];
  for (const a of reserved) assert.equal(isReserved(parseIp(a)!), true, a);
  for (const a of open) assert.equal(isReserved(parseIp(a)!), false, a);
});

test('an operator allow list opens reserved networks, and only those', () => {
  const loopback = parseNetworkList('127.0.0.0/8, ::1');
  assert.ok(loopback.ok);
  const allowed = loopback.ok ? loopback.networks : [];
  assert.equal(mayConnect('127.0.0.2', allowed), true);
  assert.equal(mayConnect('[::1]', allowed), true);
  assert.equal(mayConnect('::ffff:127.0.0.1', allowed), true);
  assert.equal(mayConnect('10.0.0.1', allowed), false);
  assert.equal(mayConnect('10.0.0.1', []), false);
  assert.equal(mayConnect('8.8.8.8', []), true);
  assert.equal(mayConnect('not-an-ip', allowed), false);
  assert.deepEqual(parseNetworkList('10.0.0.0/8,300.0.0.0/8,fc00::/129'), { ok: false, bad: ['300.0.0.0/8', 'fc00::/129'] });
  assert.deepEqual(parseNetworkList(''), { ok: true, networks: [] });
  assert.deepEqual(parseNetwork('10.9.8.7/8'), { family: 4, base: 0x0a000000n, prefix: 8 });
});
