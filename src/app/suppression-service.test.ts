import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../core/errors.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { t0, useFixture } from '../../test/store/fixtures.ts';
import { SuppressionService } from './suppression-service.ts';

const clock = { now: () => t0, sleep: async () => undefined };
const code = (c: string) => (err: unknown) => err instanceof DomainError && err.code === c;

for (const kind of testDatabases()) {
  describe(`SuppressionService (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);

    test('adds once, lower-cased with an A-label domain; lists with reason and time', async () => {
      const f = fixture();
      const s = new SuppressionService(f.suppressions, clock);
      assert.deepEqual(await s.add(f.instance, 'Ana@Bücher.example', 'asked'), { address: 'ana@xn--bcher-kva.example', added: true });
      assert.deepEqual(await s.add(f.instance, 'ana@xn--bcher-kva.example'), { address: 'ana@xn--bcher-kva.example', added: false });
      await s.add(f.instance, 'bob@example.com');
      assert.deepEqual(await s.list(f.instance), [
        { address: 'ana@xn--bcher-kva.example', reason: 'asked', createdAt: t0 },
        { address: 'bob@example.com', reason: 'added by API', createdAt: t0 },
      ]);
      // What the accept path matches against.
      assert.deepEqual([...(await f.suppressions.matching(f.instance.id, ['ANA@xn--bcher-kva.example'])).keys()], ['ana@xn--bcher-kva.example']);
    });

    test('refuses what is no address', async () => {
      const f = fixture();
      const s = new SuppressionService(f.suppressions, clock);
      await assert.rejects(s.add(f.instance, 'no address'), code('invalid-address'));
      assert.deepEqual(await s.list(f.instance), []);
    });

    test('removes in either form; not listed, or another instance\u2019s, is not-found', async () => {
      const f = fixture();
      const s = new SuppressionService(f.suppressions, clock);
      await s.add(f.instance, 'ana@bücher.example');
      await s.add(f.instance, 'bob@example.com');
      await assert.rejects(s.remove(f.other, 'bob@example.com'), code('not-found'));
      await s.remove(f.instance, 'ANA@bücher.example');
      await s.remove(f.instance, 'Bob@Example.com');
      assert.deepEqual(await s.list(f.instance), []);
      await assert.rejects(s.remove(f.instance, 'bob@example.com'), code('not-found'));
    });
  });
}
