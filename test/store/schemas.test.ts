import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
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

test('without a configured schema the connection’s own schema is migrated, not one found elsewhere in the database', { skip: postgres.skip }, async () => {
  const [other, own] = [await postgres.create(), await postgres.create()];
  try {
    const a = await openStore({ url: other.url, schema: other.schema });
    await a.close();
    // The operator points the connection's search_path at an empty schema and names none.
    const admin = new pg.Client({ connectionString: own.url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${own.schema}"`);
    await admin.end();
    const url = `${own.url}${own.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${own.schema}`)}`;
    const b = await openStore({ url });
    try {
      await b.db.insertInto('customers').values({ name: 'in-own', created_at: 1 }).execute();
      const check = new pg.Client({ connectionString: own.url });
      await check.connect();
      const { rows } = await check.query(`SELECT name FROM "${own.schema}".customers`);
      await check.end();
      assert.deepEqual(rows, [{ name: 'in-own' }]);
    } finally {
      await b.close();
    }
  } finally {
    await other.drop();
    await own.drop();
  }
});
