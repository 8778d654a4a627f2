import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommit } from './group-commit.ts';

/** A commit that holds each batch until the test lets it go. */
function heldCommits() {
  const batches: { items: number[]; release: (err?: Error) => void }[] = [];
  const commit = (items: number[]) => new Promise<void>((resolve, reject) => batches.push({ items, release: (err) => (err ? reject(err) : resolve()) }));
  return { batches, commit };
}
const tick = () => new Promise((r) => setImmediate(r));
/** A few turns of the event loop, until `ready` holds. */
async function until(ready: () => boolean) {
  for (let i = 0; i < 20 && !ready(); i++) await tick();
}

test('items submitted in one tick commit as one batch, and each caller hears only after its commit', async () => {
  const { batches, commit } = heldCommits();
  const group = new GroupCommit(commit);
  const settled: number[] = [];
  const all = [1, 2, 3].map((n) => group.submit(n).then(() => settled.push(n)));
  await tick();
  assert.deepEqual(
    batches.map((b) => b.items),
    [[1, 2, 3]],
  );
  assert.deepEqual(settled, []);
  batches[0]!.release();
  await Promise.all(all);
  assert.deepEqual(settled, [1, 2, 3]);
});

test('one batch at a time by default: what arrives meanwhile waits and goes together', async () => {
  const { batches, commit } = heldCommits();
  const group = new GroupCommit(commit);
  const first = group.submit(1);
  await tick();
  const later = [group.submit(2), group.submit(3)];
  await tick();
  assert.equal(batches.length, 1);
  batches[0]!.release();
  await first;
  await until(() => batches.length === 2);
  assert.deepEqual(batches[1]?.items, [2, 3]);
  batches[1]!.release();
  await Promise.all(later);
});

test('with two in flight, the next batch starts while the first still waits; flush waits for both', async () => {
  const { batches, commit } = heldCommits();
  const group = new GroupCommit(commit, 500, 0, 2);
  const a = group.submit(1);
  await tick();
  const b = group.submit(2);
  await tick();
  const c = group.submit(3);
  await tick();
  assert.deepEqual(
    batches.map((x) => x.items),
    [[1], [2]],
    'a third batch waits for a free place',
  );
  let flushed = false;
  const flushing = group.flush().then(() => (flushed = true));
  batches[1]!.release();
  await b;
  await until(() => batches.length === 3);
  assert.deepEqual(batches[2]?.items, [3]);
  batches[0]!.release();
  batches[2]!.release();
  await Promise.all([a, c, flushing]);
  assert.equal(flushed, true);
});

test('a failed batch is retried item by item, so one bad item fails alone', async () => {
  const seen: number[][] = [];
  const group = new GroupCommit(async (items: number[]) => {
    seen.push(items);
    if (items.includes(2)) throw new Error('bad item');
  });
  const results = await Promise.allSettled([1, 2, 3].map((n) => group.submit(n)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(seen, [[1, 2, 3], [1], [2], [3]]);
});
