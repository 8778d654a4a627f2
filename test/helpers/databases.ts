import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** Environment for a mailshift process or harness using this database. */
  env: Record<string, string>;
  url: string;
  schema?: string;
  drop(): Promise<void>;
}

/** PostgreSQL for tests: set by .ci/run; unset, the PostgreSQL runs are skipped (and say so). */
export const postgresUrl = process.env.MAILSHIFT_TEST_POSTGRES_URL;

/** A fresh, empty database of each kind: SQLite in a temp dir, PostgreSQL in a new schema. */
export function testDatabases(): { name: 'sqlite' | 'postgres'; skip: string | false; create(): Promise<TestDatabase> }[] {
  return [
    {
      name: 'sqlite',
      skip: false,
      async create() {
        const url = join(mkdtempSync(join(tmpdir(), 'mailshift-db-')), 'mailshift.db');
        return { name: 'sqlite', url, env: { MAILSHIFT_DATABASE_URL: url }, drop: async () => undefined };
      },
    },
    {
      name: 'postgres',
      skip: postgresUrl ? false : 'MAILSHIFT_TEST_POSTGRES_URL is not set',
      async create() {
        const schema = `t_${randomBytes(6).toString('hex')}`;
        return {
          name: 'postgres',
          url: postgresUrl!,
          schema,
          env: { MAILSHIFT_DATABASE_URL: postgresUrl!, MAILSHIFT_DATABASE_SCHEMA: schema },
          async drop() {
            const client = new pg.Client({ connectionString: postgresUrl });
            await client.connect();
            await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            await client.end();
          },
        };
      },
    },
  ];
}
