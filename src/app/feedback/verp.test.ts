import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VerpCodec, type VerpDecoded } from './verp.ts';

const secret = 'test-secret-0123456789';
const codec = new VerpCodec({ secrets: [secret] });
const domain = 'bounces.example.net';

/** Replaces the character at `i` of the local part with another one of the same alphabet. */
function flip(address: string, i: number): string {
  const c = address[i];
  return address.slice(0, i) + (c === '0' ? '1' : '0') + address.slice(i + 1);
}

describe('VerpCodec.encode', () => {
  const ids = [0, 1, 35, 36, 12345, 2 ** 31, Number.MAX_SAFE_INTEGER];
  for (const id of ids) {
    it(`delivery ${id}: safe characters, local part ≤ 64, round-trips`, () => {
      const address = codec.encode(id, domain);
      const local = address.slice(0, address.lastIndexOf('@'));
      assert.match(local, /^[a-z0-9.=-]+$/);
      assert.ok(local.length <= 64, `${local.length} characters`);
      assert.ok(address.endsWith(`@${domain}`));
      assert.deepEqual(codec.decode(address), { kind: 'ok', deliveryId: id, domain });
    });
  }

  it('is deterministic and differs per delivery', () => {
    assert.equal(codec.encode(7, domain), codec.encode(7, domain));
    assert.notEqual(codec.encode(7, domain), codec.encode(8, domain));
  });

  it('the longest prefix that fits still stays within 64 characters', () => {
    const long = new VerpCodec({ secrets: [secret], prefix: 'x'.repeat(39) });
    const address = long.encode(Number.MAX_SAFE_INTEGER, domain);
    assert.equal(address.indexOf('@'), 64);
    assert.throws(() => new VerpCodec({ secrets: [secret], prefix: 'x'.repeat(40) }), /too long/);
  });

  it('refuses bad prefixes, short secrets and bad ids', () => {
    for (const prefix of ['', 'a+b', 'a_b', '.a', 'a.', 'ü']) assert.throws(() => new VerpCodec({ secrets: [secret], prefix }), /prefix/, prefix);
    assert.throws(() => new VerpCodec({ secrets: [] }), /secrets/);
    assert.throws(() => new VerpCodec({ secrets: ['short'] }), /secrets/);
    for (const id of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN]) assert.throws(() => codec.encode(id, domain), /delivery id/);
  });
});

describe('VerpCodec.decode', () => {
  const good = codec.encode(123456789, domain);
  const local = good.slice(0, good.indexOf('@'));
  const idEnd = local.lastIndexOf('-');
  const cases: [string, string, VerpDecoded['kind']][] = [
    ['as encoded', good, 'ok'],
    ['upper-cased whole', good.toUpperCase(), 'ok'],
    ['upper-cased local part only', local.toUpperCase() + `@${domain}`, 'ok'],
    ['mixed case', [...good].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join(''), 'ok'],
    ['at another bounce domain (the domain is the caller’s to judge)', `${local}@other.example`, 'ok'],
    ['a digit of the id changed', flip(good, 3), 'bad-signature'],
    ['a digit of the signature changed', flip(good, idEnd + 5), 'bad-signature'],
    ['the last signature digit changed', flip(good, local.length - 1), 'bad-signature'],
    ['the id of another delivery with this signature', `b-${(123456790).toString(36)}${local.slice(idEnd)}@${domain}`, 'bad-signature'],
    ['a non-canonical id (leading zero)', `b-0${local.slice(2)}@${domain}`, 'not-ours'],
    ['signature one digit short', `${local.slice(0, -1)}@${domain}`, 'not-ours'],
    ['signature one digit long', `${local}0@${domain}`, 'not-ours'],
    ['signature with a digit outside base 32', `${local.slice(0, -1)}w@${domain}`, 'not-ours'],
    ['another prefix', `x-${local.slice(2)}@${domain}`, 'not-ours'],
    ['no separator', `${local.replace(/-(?=[^-]*$)/, '')}@${domain}`, 'not-ours'],
    ['a person', `jane@${domain}`, 'not-ours'],
    ['no domain', local, 'not-ours'],
    ['empty domain', `${local}@`, 'not-ours'],
    ['empty', '', 'not-ours'],
    ['NUL inside', `${local}\u0000@${domain}`, 'not-ours'],
    ['huge', `${'b-'.repeat(1000)}@${domain}`, 'not-ours'],
  ];
  for (const [name, address, kind] of cases) {
    it(`${name} → ${kind}`, () => assert.equal(codec.decode(address).kind, kind));
  }

  it('an address signed with another secret is a bad signature', () => {
    const other = new VerpCodec({ secrets: ['another-secret-987654321'] });
    assert.equal(codec.decode(other.encode(42, domain)).kind, 'bad-signature');
  });

  it('rotation: signs with the newest secret, still accepts the previous one', () => {
    const rotated = new VerpCodec({ secrets: ['new-secret-0123456789', secret] });
    assert.deepEqual(rotated.decode(codec.encode(42, domain)), { kind: 'ok', deliveryId: 42, domain });
    assert.equal(codec.decode(rotated.encode(42, domain)).kind, 'bad-signature');
  });

  it('a custom prefix with dots and equals signs decodes case-insensitively', () => {
    const custom = new VerpCodec({ secrets: [secret], prefix: 'Bounce.v=1-' });
    const address = custom.encode(99, domain);
    assert.ok(address.startsWith('bounce.v=1-'));
    assert.deepEqual(custom.decode(address.toUpperCase()), { kind: 'ok', deliveryId: 99, domain });
    assert.equal(codec.decode(address).kind, 'not-ours');
  });

  it('10,000 random single-character tamperings are never accepted', () => {
    let accepted = 0;
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz-';
    for (let n = 0; n < 10_000; n++) {
      const address = codec.encode(n * 7919, domain);
      const at = address.indexOf('@');
      const i = 2 + (n % (at - 2));
      const c = alphabet[(alphabet.indexOf(address[i]) + 1 + (n % 36)) % alphabet.length];
      const tampered = address.slice(0, i) + c + address.slice(i + 1);
      if (tampered !== address && codec.decode(tampered).kind === 'ok') accepted++;
    }
    assert.equal(accepted, 0);
  });
});
