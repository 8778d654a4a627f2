import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('add stores lower-cased addresses once per instance; list is sorted', async () => {
      const { suppressions, instance, other } = f();
      assert.equal(await suppressions.add(instance.id, 'Zed@Example.test', 'complaint', t0), true);
      assert.equal(await suppressions.add(instance.id, 'amy@example.test', 'manual', t0 + 1), true);
      assert.equal(await suppressions.add(instance.id, 'ZED@EXAMPLE.TEST', 'again', t0 + 2), false, 'already suppressed');
      assert.equal(await suppressions.add(other.id, 'zed@example.test', 'bounce', t0 + 3), true, 'per instance');

      assert.deepEqual(await suppressions.list(instance.id), [
        { address: 'amy@example.test', reason: 'manual', createdAt: t0 + 1 },
        { address: 'zed@example.test', reason: 'complaint', createdAt: t0 },
      ]);
      assert.deepEqual(await suppressions.list(other.id), [{ address: 'zed@example.test', reason: 'bounce', createdAt: t0 + 3 }]);
      assert.deepEqual(await suppressions.list(999_999), []);
    });

    test('matching returns the suppressed subset, keyed by lower-cased address', async () => {
      const { suppressions, instance, other } = f();
      await suppressions.add(instance.id, 'amy@example.test', 'manual', t0);
      await suppressions.add(other.id, 'bob@example.test', 'manual', t0);

      const found = await suppressions.matching(instance.id, ['AMY@example.test', 'amy@EXAMPLE.test', 'bob@example.test', 'cid@example.test']);
      assert.deepEqual([...found.entries()], [['amy@example.test', 'manual']]);
      assert.equal((await suppressions.matching(instance.id, [])).size, 0);
    });

    test('matchingMany answers several instances at once, each with its own suppressions only', async () => {
      const { suppressions, instance, other } = f();
      await suppressions.add(instance.id, 'amy@example.test', 'manual', t0);
      await suppressions.add(other.id, 'bob@example.test', 'bounce', t0);

      const found = await suppressions.matchingMany([
        { instanceId: instance.id, addresses: ['AMY@example.test', 'bob@example.test'] },
        { instanceId: other.id, addresses: ['amy@example.test', 'Bob@Example.test'] },
        { instanceId: instance.id, addresses: ['cid@example.test'] },
        { instanceId: 999_999, addresses: [] },
      ]);
      assert.deepEqual([...(found.get(instance.id) ?? [])], [['amy@example.test', 'manual']]);
      assert.deepEqual([...(found.get(other.id) ?? [])], [['bob@example.test', 'bounce']]);
      assert.equal(found.get(999_999)?.size, 0);
    });

    test('matching works across large recipient lists', async () => {
      const { suppressions, instance } = f();
      const addresses = Array.from({ length: 1_234 }, (_, i) => `user${i}@example.test`);
      const suppressed = [0, 499, 500, 501, 999, 1_000, 1_233].map((i) => addresses[i]!);
      for (const a of suppressed) await suppressions.add(instance.id, a, `reason ${a}`, t0);

      const found = await suppressions.matching(
        instance.id,
        addresses.map((a) => a.toUpperCase()),
      );
      assert.deepEqual([...found.keys()].sort(), [...suppressed].sort());
      for (const a of suppressed) assert.equal(found.get(a), `reason ${a}`);
    });

    test('remove is case-insensitive and reports whether something was removed', async () => {
      const { suppressions, instance, other } = f();
      await suppressions.add(instance.id, 'amy@example.test', 'manual', t0);
      await suppressions.add(other.id, 'amy@example.test', 'manual', t0);

      assert.equal(await suppressions.remove(instance.id, 'Amy@Example.TEST'), true);
      assert.equal(await suppressions.remove(instance.id, 'amy@example.test'), false);
      assert.deepEqual(await suppressions.list(instance.id), []);
      assert.equal((await suppressions.matching(instance.id, ['amy@example.test'])).size, 0);
      assert.deepEqual(
        (await suppressions.list(other.id)).map((s) => s.address),
        ['amy@example.test'],
        'other instance untouched',
      );

      assert.equal(await suppressions.add(instance.id, 'amy@example.test', 'again', t0 + 1), true, 'can be suppressed again');
    });
  });
}
