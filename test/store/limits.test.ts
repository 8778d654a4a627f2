import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LimitRepository } from '../../src/store/limit-repository.ts';
import { testDatabases } from '../helpers/databases.ts';
import { t0, useFixture } from './fixtures.ts';

const perSecond = { count: 20, perMs: 1000 };
const key = '1:example.com';

for (const kind of testDatabases()) {
  describe(`cluster limits (${kind.name})`, { skip: kind.skip }, () => {
    const f = useFixture(kind);
    const limits = () => new LimitRepository(f().store.db, f().store.dialect);

    describe('rate budgets', () => {
      test('a bucket seen for the first time starts full: grants come out of its burst until it is empty', async () => {
        const repo = limits();
        assert.deepEqual(await repo.takeTokens(key, 5, perSecond, 20, t0), { granted: 5, tokens: 15 });
        assert.deepEqual(await repo.takeTokens(key, 30, perSecond, 20, t0), { granted: 15, tokens: 0 });
        assert.deepEqual(await repo.takeTokens(key, 5, perSecond, 20, t0), { granted: 0, tokens: 0 });
      });

      test('it refills at the rate since it was last touched, and grants whole tokens only', async () => {
        const repo = limits();
        await repo.takeTokens(key, 20, perSecond, 20, t0);
        // 75 ms of 20/s is 1.5 tokens: one is granted, half a token stays.
        assert.deepEqual(await repo.takeTokens(key, 5, perSecond, 20, t0 + 75), { granted: 1, tokens: 0.5 });
        assert.deepEqual(await repo.takeTokens(key, 5, perSecond, 20, t0 + 100), { granted: 1, tokens: 0 });
        assert.deepEqual(await repo.takeTokens(key, 5, perSecond, 20, t0 + 100), { granted: 0, tokens: 0 });
      });

      test('it holds no more than its burst, however long it idles', async () => {
        const repo = limits();
        await repo.takeTokens(key, 20, perSecond, 20, t0);
        assert.deepEqual(await repo.takeTokens(key, 50, perSecond, 20, t0 + 3_600_000), { granted: 20, tokens: 0 });
      });

      test('a node whose clock is behind refills nothing and does not move the bucket back', async () => {
        const repo = limits();
        await repo.takeTokens(key, 20, perSecond, 20, t0 + 1000);
        assert.equal((await repo.takeTokens(key, 5, perSecond, 20, t0)).granted, 0);
        // Refilled from t0 + 1000, not from t0: 100 ms give 2 tokens, not 22.
        assert.equal((await repo.takeTokens(key, 50, perSecond, 20, t0 + 1100)).granted, 2);
      });

      test('unspent tokens given back are there for the next grant, up to the burst', async () => {
        const repo = limits();
        await repo.takeTokens(key, 10, perSecond, 20, t0);
        await repo.returnTokens(key, 4, perSecond, 20, t0);
        assert.deepEqual(await repo.takeTokens(key, 50, perSecond, 20, t0), { granted: 14, tokens: 0 });
        await repo.takeTokens(key, 50, perSecond, 20, t0 + 10_000);
        await repo.returnTokens(key, 30, perSecond, 20, t0 + 10_000);
        assert.equal((await repo.takeTokens(key, 50, perSecond, 20, t0 + 10_000)).granted, 20, 'capped at the burst');
      });

      test('grants taken at once by many callers never add up to more than the bucket holds', async () => {
        const repo = limits();
        const grants = await Promise.all(Array.from({ length: 40 }, () => repo.takeTokens(key, 1, perSecond, 20, t0)));
        assert.equal(
          grants.reduce((n, g) => n + g.granted, 0),
          20,
        );
      });

      test('a changed rule applies to the bucket at once: a smaller burst caps what it holds', async () => {
        const repo = limits();
        await repo.takeTokens(key, 1, perSecond, 20, t0);
        assert.equal((await repo.takeTokens(key, 50, { count: 5, perMs: 1000 }, 5, t0)).granted, 5);
      });

      test('buckets full again are pruned; one pruned starts full again', async () => {
        const repo = limits();
        await repo.takeTokens(key, 20, perSecond, 20, t0);
        await repo.takeTokens('1:other.example', 1, perSecond, 20, t0);
        assert.equal((await repo.prune(t0 + 49)).budgets, 0, 'neither is full yet');
        assert.equal((await repo.prune(t0 + 50)).budgets, 1, 'one token takes 50 ms to come back');
        assert.equal((await repo.prune(t0 + 999)).budgets, 0);
        assert.equal((await repo.prune(t0 + 1000)).budgets, 1, 'twenty take a second');
        assert.equal((await repo.takeTokens(key, 50, perSecond, 20, t0 + 1000)).granted, 20);
      });
    });

    describe('connection slots', () => {
      test('at most `max` slots are held at once, each by one node, numbered below max', async () => {
        const repo = limits();
        const slots = [];
        for (const node of ['a', 'b', 'c', 'a']) slots.push(await repo.acquireSlot(key, 4, node, t0, t0 + 15_000));
        assert.deepEqual([...slots].sort(), [0, 1, 2, 3]);
        assert.equal(await repo.acquireSlot(key, 4, 'd', t0, t0 + 15_000), null);
        assert.equal(await repo.heldSlots(key, t0), 4);
        // Another destination has slots of its own.
        assert.notEqual(await repo.acquireSlot('2:example.com', 4, 'd', t0, t0 + 15_000), null);
      });

      test('claims made at once by many nodes get distinct slots, and no more than max', async () => {
        const repo = limits();
        const slots = await Promise.all(Array.from({ length: 12 }, (_, i) => repo.acquireSlot(key, 4, `node-${i}`, t0, t0 + 15_000)));
        const taken = slots.filter((s) => s !== null);
        assert.equal(taken.length, 4);
        assert.equal(new Set(taken).size, 4);
      });

      test('a slot given back can be taken by another node; a node gives back only its own', async () => {
        const repo = limits();
        const a = await repo.acquireSlot(key, 1, 'a', t0, t0 + 15_000);
        assert.equal(a, 0);
        await repo.releaseSlots('b', key, [0]);
        assert.equal(await repo.acquireSlot(key, 1, 'b', t0, t0 + 15_000), null, 'b cannot give back a’s slot');
        await repo.releaseSlots('a', key, [0]);
        assert.equal(await repo.acquireSlot(key, 1, 'b', t0, t0 + 15_000), 0);
      });

      test('the slots of a node that stopped renewing them are taken over once they expire', async () => {
        const repo = limits();
        const dead = await repo.acquireSlot(key, 2, 'dead', t0, t0 + 15_000);
        const live = await repo.acquireSlot(key, 2, 'live', t0, t0 + 15_000);
        assert.equal(await repo.acquireSlot(key, 2, 'new', t0 + 14_999, t0 + 30_000), null);
        assert.deepEqual(await repo.renewSlots('live', t0 + 30_000), [{ key, slot: live }]);
        assert.equal(await repo.acquireSlot(key, 2, 'new', t0 + 15_000, t0 + 30_000), dead, 'the expired one, not the renewed one');
        assert.deepEqual(await repo.renewSlots('dead', t0 + 45_000), [], 'the old holder renews nothing');
      });

      test('releaseNode drops every slot of a node at once, for the others to take', async () => {
        const repo = limits();
        await repo.acquireSlot(key, 2, 'gone', t0, t0 + 15_000);
        await repo.acquireSlot('1:other.example', 2, 'gone', t0, t0 + 15_000);
        await repo.acquireSlot(key, 2, 'live', t0, t0 + 15_000);
        assert.equal(await repo.releaseNode('gone'), 2);
        assert.notEqual(await repo.acquireSlot(key, 2, 'next', t0, t0 + 15_000), null);
        assert.equal(await repo.heldSlots(key, t0), 2);
      });

      test('a lowered max counts the slots still held above it', async () => {
        const repo = limits();
        const slots = new Map<string, number | null>();
        for (const node of ['a', 'b', 'c', 'd']) slots.set(node, await repo.acquireSlot(key, 4, node, t0, t0 + 15_000));
        await repo.releaseSlots('a', key, [slots.get('a')!]);
        await repo.releaseSlots('b', key, [slots.get('b')!]);
        // Two are held, numbered anywhere in 0…3: with max 2 there is no room.
        assert.equal(await repo.acquireSlot(key, 2, 'e', t0, t0 + 15_000), null);
      });

      test('expired slots are pruned', async () => {
        const repo = limits();
        await repo.acquireSlot(key, 2, 'a', t0, t0 + 15_000);
        await repo.acquireSlot(key, 2, 'b', t0, t0 + 20_000);
        assert.equal((await repo.prune(t0 + 15_000)).slots, 1);
        assert.equal(await repo.heldSlots(key, t0), 1);
      });
    });
  });
}
