import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WalSync } from './wal-sync.ts';

/** Counts fsyncs and holds each until released, to see who waits for which. */
class HeldSync extends WalSync {
  readonly started: (() => void)[] = [];
  protected override fsync(): Promise<void> {
    return new Promise((resolve) => this.started.push(resolve));
  }
}
const tick = () => new Promise((r) => setImmediate(r));

test('callers during a running fsync share the next one, which starts when it ends', async () => {
  const wal = new HeldSync('unused-wal', 'unused-db');
  const order: string[] = [];
  const first = wal.sync().then(() => order.push('first'));
  const second = wal.sync().then(() => order.push('second'));
  const third = wal.sync().then(() => order.push('third'));
  await tick();
  assert.equal(wal.started.length, 1, 'the later callers wait for a later fsync, not for this one');
  wal.started[0]!();
  await first;
  await tick();
  assert.equal(wal.started.length, 2, 'one more fsync serves both later callers');
  assert.deepEqual(order, ['first']);
  wal.started[1]!();
  await Promise.all([second, third]);
  assert.deepEqual(order, ['first', 'second', 'third']);
});

test('fsyncs the write-ahead log, or the database file when there is none yet', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailshift-wal-'));
  writeFileSync(join(dir, 'db'), 'x');
  const wal = new WalSync(join(dir, 'db-wal'), join(dir, 'db'));
  await wal.sync();
  writeFileSync(join(dir, 'db-wal'), 'y');
  await wal.sync();
  await wal.close();
  const missing = new WalSync(join(dir, 'nope-wal'), join(dir, 'nope'));
  await assert.rejects(missing.sync(), /ENOENT/);
});
