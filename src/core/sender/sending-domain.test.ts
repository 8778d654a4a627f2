import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromDomain, keyState, owningDomain, validateDomainName, validateSpfInclude } from './sending-domain.ts';

test('a key is active until rotated, retiring during its grace period, then retired', () => {
  assert.equal(keyState({ retireAt: null }, 1000), 'active');
  assert.equal(keyState({ retireAt: 2000 }, 1999), 'retiring');
  assert.equal(keyState({ retireAt: 2000 }, 2000), 'retired');
});

test('the From domain is owned by the closest registered domain at or above it', () => {
  const domains = [{ domain: 'shop.example' }, { domain: 'news.shop.example' }, { domain: 'other.example' }];
  assert.equal(owningDomain(domains, 'news.shop.example')?.domain, 'news.shop.example');
  assert.equal(owningDomain(domains, 'eu.shop.example')?.domain, 'shop.example');
  assert.equal(owningDomain(domains, 'evilshop.example'), undefined);
  assert.equal(owningDomain(domains, 'example'), undefined);
});

test('the From domain is read from the header, not the envelope', () => {
  const raw = (from: string) => Buffer.from(`From: ${from}\r\nTo: x@y.example\r\nSubject: s\r\n\r\nbody\r\n`);
  assert.equal(fromDomain(raw('"Shop" <News@Shop.Example>')), 'shop.example');
  assert.equal(fromDomain(raw('news@shop.example')), 'shop.example');
  assert.equal(fromDomain(raw('undisclosed')), null);
});

test('domain names and SPF includes are checked', () => {
  assert.deepEqual(validateDomainName('Shop.Example.'), { ok: true, value: 'shop.example' });
  for (const bad of ['example', '-a.example', 'a..example', '_x.example', 'a b.example', 7]) assert.equal(validateDomainName(bad).ok, false, String(bad));
  assert.equal(validateSpfInclude('_spf.mailshift.example').ok, true);
  assert.equal(validateSpfInclude('nodots').ok, false);
});
