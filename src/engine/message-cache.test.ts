import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCache } from './message-cache.ts';
import type { SpoolRepository } from '../store/spool-repository.ts';

function spool(bodies: Map<string, Buffer>) {
  let loads = 0;
  const fake = { loadMessage: async (id: string) => (loads++, bodies.has(id) ? { mailFrom: 'a@example.com', raw: bodies.get(id)!, createdAt: 0 } : undefined) };
  return { spool: fake as unknown as SpoolRepository, loads: () => loads };
}

test('a forgotten message leaves at once and is read back from the spool when needed again', async () => {
  const bodies = new Map([['m1', Buffer.alloc(10, 1)]]);
  const s = spool(bodies);
  const cache = new MessageCache(s.spool, 100);
  cache.prime('m1', 'a@example.com', bodies.get('m1')!);
  assert.equal((await cache.get('m1'))?.raw.length, 10);
  assert.equal(s.loads(), 0, 'primed: no read');
  cache.forget('m1');
  cache.forget('m1');
  assert.equal((await cache.get('m1'))?.raw.length, 10);
  assert.equal(s.loads(), 1);
});

test('bytes stay under the bound, least recently used out first', async () => {
  const bodies = new Map(['a', 'b', 'c'].map((id) => [id, Buffer.alloc(40)]));
  const s = spool(bodies);
  const cache = new MessageCache(s.spool, 100);
  for (const id of ['a', 'b']) cache.prime(id, 'x@example.com', bodies.get(id)!);
  await cache.get('a');
  cache.prime('c', 'x@example.com', bodies.get('c')!);
  await cache.get('a');
  await cache.get('c');
  assert.equal(s.loads(), 0, 'a and c stayed');
  await cache.get('b');
  assert.equal(s.loads(), 1, 'b was the one evicted');
});

test('a message forgotten while it loads is not counted against the bound', async () => {
  const bodies = new Map([
    ['m', Buffer.alloc(60)],
    ['n', Buffer.alloc(60)],
  ]);
  const s = spool(bodies);
  const cache = new MessageCache(s.spool, 100);
  const loading = cache.get('m');
  cache.forget('m');
  assert.equal((await loading)?.raw.length, 60);
  cache.prime('n', 'x@example.com', bodies.get('n')!);
  await cache.get('n');
  assert.equal(s.loads(), 1, 'n fits: the forgotten m takes no room');
});
