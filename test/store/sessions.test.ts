import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openStore } from '../../src/store/database.ts';
import { SessionRepository } from '../../src/store/session-repository.ts';
import { testDatabases } from '../helpers/databases.ts';
import { dropDatabase, hour, t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('a session is active until it expires or is revoked', async () => {
      const sessions = new SessionRepository(f().store.db);
      await sessions.create('a', t0, t0 + 12 * hour);
      await sessions.create('b', t0, t0 + 12 * hour);
      assert.equal(await sessions.isActive('a', t0 + hour), true);
      assert.equal(await sessions.isActive('a', t0 + 12 * hour), false, 'expired');
      assert.equal(await sessions.isActive('unknown', t0), false);

      assert.equal(await sessions.revoke('a', t0 + hour), true);
      assert.equal(await sessions.revoke('a', t0 + hour), false, 'already revoked');
      assert.equal(await sessions.isActive('a', t0 + hour), false);
      assert.equal(await sessions.isActive('b', t0 + hour), true, 'other sessions stay');
    });

    test('a revocation by one node is seen by another on the same database', async () => {
      const db = await kind.create();
      const [one, two] = [await openStore({ url: db.url, schema: db.schema }), await openStore({ url: db.url, schema: db.schema })];
      try {
        await new SessionRepository(one.db).create('shared', t0, t0 + hour);
        assert.equal(await new SessionRepository(two.db).isActive('shared', t0 + 1), true);
        assert.equal(await new SessionRepository(one.db).revoke('shared', t0 + 1), true);
        assert.equal(await new SessionRepository(two.db).isActive('shared', t0 + 2), false);
      } finally {
        await one.close();
        await two.close();
        await dropDatabase(db);
      }
    });

    test('creating a session prunes expired ones, revoked or not', async () => {
      const sessions = new SessionRepository(f().store.db);
      await sessions.create('old', t0, t0 + hour);
      await sessions.create('old-revoked', t0, t0 + hour);
      await sessions.revoke('old-revoked', t0 + 1);
      await sessions.create('live', t0, t0 + 3 * hour);
      await sessions.create('new', t0 + 2 * hour, t0 + 14 * hour);
      const rows = await f().store.db.selectFrom('sessions').select('id').orderBy('id').execute();
      assert.deepEqual(
        rows.map((r) => r.id),
        ['live', 'new'],
      );
      assert.equal(await sessions.prune(t0 + 3 * hour), 1);
    });
  });
}
