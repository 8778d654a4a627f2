import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, beforeEach } from 'node:test';
import { openStore, type Store } from '../../src/store/database.ts';
import { createRepositories, type Repositories } from '../../src/store/repositories.ts';
import type { ClaimedDelivery, NewMessage } from '../../src/store/spool-repository.ts';
import type { Infrastructure, Instance } from '../../src/core/fleet/fleet.ts';
import type { TestDatabase, testDatabases } from '../helpers/databases.ts';

export type DatabaseKind = ReturnType<typeof testDatabases>[number];

/** A fixed instant: store tests pass `now` explicitly and never read the clock. */
export const t0 = Date.UTC(2025, 0, 6, 9, 0, 0);
export const hour = 3_600_000;
export const day = 24 * hour;

/** One fresh, migrated database with every repository and a small fleet. */
export interface Fixture extends Repositories {
  store: Store;
  /** Infrastructure `blue`, which both instances start on. */
  blue: Infrastructure;
  /** Infrastructure `green`, bound to nothing. */
  green: Infrastructure;
  /** `acme-prod`, on blue. */
  instance: Instance;
  /** `acme-dev`, on blue. */
  other: Instance;
}

export function repositories(store: Store): Repositories & { store: Store } {
  return { store, ...createRepositories(store) };
}

export function infrastructureInput(name: string): Omit<Infrastructure, 'id'> {
  return {
    name,
    deliveryMode: 'relay',
    relays: [{ host: `${name}.relay.test`, port: 2525 }],
    sourceAddresses: [],
    heloName: `${name}.mailshift.test`,
    dkim: [],
    shaping: [],
    verificationAddress: `canary@${name}.test`,
    createdAt: t0,
    mxPort: null,
    tls: 'opportunistic',
    mtaSts: false,
    unverifiedFrom: 'unsigned',
    spfInclude: null,
  };
}

/** Drops the database; for SQLite also removes its temporary directory. */
export async function dropDatabase(db: TestDatabase): Promise<void> {
  await db.drop();
  if (db.name === 'sqlite') await rm(dirname(db.url), { recursive: true, force: true });
}

/**
 * Registers hooks that give every test of the enclosing describe a fresh database of
 * `kind`, and returns a getter for it. The database is dropped after each test.
 */
export function useFixture(kind: DatabaseKind): () => Fixture {
  let current: Fixture | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const db = await kind.create();
    drop = () => dropDatabase(db);
    const store = await openStore({ url: db.url, schema: db.schema });
    const repos = repositories(store);
    const customer = await repos.fleet.createCustomer('Acme', [], t0);
    const blue = await repos.fleet.createInfrastructure(infrastructureInput('blue'));
    const green = await repos.fleet.createInfrastructure(infrastructureInput('green'));
    const base = { customerId: customer.id, infrastructureId: blue.id, allowFrom: [], createdAt: t0 };
    const instance = await repos.fleet.createInstance({ ...base, name: 'acme-prod', productLine: 'managed-cloud', environment: 'production' });
    const other = await repos.fleet.createInstance({ ...base, name: 'acme-dev', productLine: 'managed-cloud', environment: 'development' });
    current = { ...repos, blue, green, instance, other };
  });
  afterEach(async () => {
    await current?.store.close();
    await drop?.();
    current = undefined;
    drop = undefined;
  });
  return () => {
    if (!current) throw new Error('fixture used outside a test');
    return current;
  };
}

/** A message with one delivery per address; addresses in `suppressed` carry a reason. */
export function message(id: string, instanceId: number, recipients: string[], options: { suppressed?: Record<string, string>; raw?: Buffer } = {}): NewMessage {
  return {
    id,
    instanceId,
    mailFrom: 'news@acme.test',
    raw: options.raw ?? Buffer.from(`Subject: ${id}\r\n\r\nHello\r\n`),
    headerMessageId: `<${id}@acme.test>`,
    recipients: recipients.map((address) => ({
      address,
      domain: address.slice(address.indexOf('@') + 1),
      suppressed: options.suppressed?.[address] ?? null,
    })),
  };
}

/** `count` messages of one recipient each, ids `${prefix}-0`…, for claim tests. */
export function messages(prefix: string, instanceId: number, count: number): NewMessage[] {
  return Array.from({ length: count }, (_, i) => message(`${prefix}-${i}`, instanceId, [`user${i}@example.test`]));
}

/** Asserts that `actual` has every field of `expected` (fields added later are ignored). */
export function assertFields<T extends object>(actual: T | undefined, expected: Partial<T>): void {
  assert.ok(actual, 'expected a value');
  const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, (actual as Record<string, unknown>)[k]]));
  assert.deepEqual(picked, expected);
}

export function ids(claimed: ClaimedDelivery[]): number[] {
  return claimed.map((d) => d.id).sort((a, b) => a - b);
}
