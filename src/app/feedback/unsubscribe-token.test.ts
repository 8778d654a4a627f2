import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsubscribeTokens } from './unsubscribe-token.ts';

const tokens = new UnsubscribeTokens(['unsubscribe-secret-0123456789']);
const target = { instanceId: 7, deliveryId: 123456789, recipient: 'Reader@Example.org' };

test('a token reads back as its target (recipient lower-cased) and is URL-safe', () => {
  const token = tokens.make(target);
  assert.match(token, /^[A-Za-z0-9._-]+$/);
  assert.deepEqual(tokens.read(token), { ...target, recipient: 'reader@example.org' });
});

test('a tampered, truncated or foreign token reads as null', () => {
  const token = tokens.make(target);
  const [i, d, r, sig] = token.split('.');
  const other = new UnsubscribeTokens(['another-secret-0123456789abc']);
  for (const bad of [
    `${i}.${(Number.parseInt(d, 36) + 1).toString(36)}.${r}.${sig}`,
    `${i}.${d}.${Buffer.from('victim@example.org').toString('base64url')}.${sig}`,
    `${i}.${d}.${r}.${sig.slice(0, -1)}A`,
    token.slice(0, -3),
    other.make(target),
    '',
    'x'.repeat(5000),
  ]) {
    assert.equal(tokens.read(bad), null, bad);
  }
});

test('a rotated secret still reads tokens signed with the old one', () => {
  const rotated = new UnsubscribeTokens(['a-newer-secret-0123456789', 'unsubscribe-secret-0123456789']);
  assert.deepEqual(rotated.read(tokens.make(target))?.deliveryId, target.deliveryId);
});
