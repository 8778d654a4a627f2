import type { ColumnDefinitionBuilder } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/** The few column types that differ between SQLite and PostgreSQL. */
export interface ColumnTypes {
  id: 'integer' | 'bigserial';
  idConstraints(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  time: 'integer' | 'bigint';
  blob: 'blob' | 'bytea';
}

export function columnTypes(dialect: DialectName): ColumnTypes {
  if (dialect === 'sqlite') {
    // AUTOINCREMENT keeps ids monotonic after deletes: webhook cursors rely on it.
    return { id: 'integer', idConstraints: (c) => c.primaryKey().autoIncrement(), time: 'integer', blob: 'blob' };
  }
  return { id: 'bigserial', idConstraints: (c) => c.primaryKey(), time: 'bigint', blob: 'bytea' };
}
