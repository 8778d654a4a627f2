import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('a status token maps to one customer; a new token replaces the old', async () => {
      const fx = f();
      assert.equal(await fx.statusTokens.customerOfToken('hash-1'), undefined);
      await fx.statusTokens.setStatusToken(fx.instance.customerId, 'hash-1', t0);
      assert.equal(await fx.statusTokens.customerOfToken('hash-1'), fx.instance.customerId);
      await fx.statusTokens.setStatusToken(fx.instance.customerId, 'hash-2', t0 + 1);
      assert.equal(await fx.statusTokens.customerOfToken('hash-1'), undefined, 'a new token replaces the old');
      assert.equal(await fx.statusTokens.customerOfToken('hash-2'), fx.instance.customerId);
    });
  });
}
