import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../../src/store/database.ts';
import { testDatabases } from '../helpers/databases.ts';

const postgres = testDatabases().find((d) => d.name === 'postgres')!;

test('a fresh schema starts beside another schema that already holds mailshift’s tables', { skip: postgres.skip }, async () => {
  const [first, second] = [await postgres.create(), await postgres.create()];
  try {
    const a = await openStore({ url: first.url, schema: first.schema });
    await a.db.insertInto('customers').values({ name: 'only-in-a', created_at: 1 }).execute();
    const b = await openStore({ url: second.url, schema: second.schema });
    try {
      assert.deepEqual(await b.db.selectFrom('customers').select('name').execute(), [], 'b has its own, empty tables');
      assert.equal((await a.db.selectFrom('customers').select('name').execute()).length, 1);
    } finally {
      await b.close();
      await a.close();
    }
  } finally {
    await first.drop();
    await second.drop();
  }
});
