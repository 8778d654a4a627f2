import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Migrator } from 'kysely';
import { openStore, type Store } from '../../src/store/database.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { testDatabases, type TestDatabase } from '../helpers/databases.ts';
import { dropDatabase, repositories, t0 } from './fixtures.ts';

async function migrationStatus(store: Store) {
  const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations(store.dialect) } });
  return (await migrator.getMigrations()).map((m) => ({ name: m.name, executedAt: m.executedAt?.getTime() }));
}

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    let db: TestDatabase;
    const open: Store[] = [];
    const openOn = async () => {
      const store = await openStore({ url: db.url, schema: db.schema });
      open.push(store);
      return store;
    };

    beforeEach(async () => {
      db = await kind.create();
    });
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
      await dropDatabase(db);
    });

    test('migrations apply on an empty database', async () => {
      const store = await openOn();
      assert.equal(store.dialect, kind.name);
      const status = await migrationStatus(store);
      assert.ok(status.length > 0);
      for (const m of status) assert.equal(typeof m.executedAt, 'number', `${m.name} applied`);

      const r = repositories(store);
      assert.deepEqual(await r.fleet.listCustomers(), []);
      assert.deepEqual(await r.fleet.listInfrastructures(), []);
      assert.deepEqual(await r.fleet.listInstances(), []);
      assert.deepEqual(await r.spool.queueCounts(), []);
      assert.deepEqual(await r.suppressions.list(1), []);
      assert.deepEqual(await r.webhooks.list(), []);
      assert.deepEqual(await r.captures.list(10), []);
      assert.equal(await r.webhooks.lastEventId(), 0);
    });

    test('opening the same database again applies nothing and keeps the data', async () => {
      const first = await openOn();
      const before = await migrationStatus(first);
      await repositories(first).fleet.createCustomer('Acme', [{ email: 'ops@acme.test', locale: 'en', timezone: 'Europe/Paris' }], t0);
      await first.close();
      open.splice(open.indexOf(first), 1);

      const second = await openOn();
      assert.deepEqual(await migrationStatus(second), before);
      const customer = await repositories(second).fleet.findCustomer('Acme');
      assert.equal(customer?.contacts[0]?.email, 'ops@acme.test');
    });

    test('a second store may open while the first is still open', async () => {
      const first = await openOn();
      const before = await migrationStatus(first);
      const second = await openOn();
      assert.deepEqual(await migrationStatus(second), before);
      await repositories(first).fleet.createCustomer('Acme', [], t0);
      assert.equal((await repositories(second).fleet.findCustomer('Acme'))?.name, 'Acme');
    });
  });
}
