import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness } from './helpers/harness.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

test('the spool, its WAL, the TLS key and the admin token are readable by mailshift’s user only', async () => {
  const h = await startHarness({ MAILSHIFT_ADMIN_TOKEN: '' });
  try {
    const db = join(h.dataDir, 'mailshift.db');
    assert.ok(existsSync(`${db}-wal`), 'WAL mode makes a -wal file');
    // The server holds the file alone (exclusive locking): its WAL index is in memory, not in a -shm file.
    assert.ok(!existsSync(`${db}-shm`), 'no shared-memory file');
    for (const file of [db, `${db}-wal`, join(h.dataDir, 'admin-token'), join(h.dataDir, 'tls', 'self-signed.key')]) {
      assert.equal(mode(file).toString(8), '600', file);
    }
    assert.equal(mode(h.dataDir).toString(8), '700');
  } finally {
    await h.close();
  }
});

test('the database, the admin token and the TLS key left readable by an older version are tightened at start', async () => {
  const first = await startHarness({ MAILSHIFT_ADMIN_TOKEN: '' });
  const dataDir = first.dataDir;
  await first.app.stop();
  const files = [join(dataDir, 'mailshift.db'), join(dataDir, 'admin-token'), join(dataDir, 'tls', 'self-signed.key')];
  for (const file of files) chmodSync(file, 0o644);
  const again = await startHarness({ MAILSHIFT_ADMIN_TOKEN: '' }, { dataDir });
  try {
    for (const file of files) assert.equal(mode(file).toString(8), '600', file);
  } finally {
    await again.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a weak admin token file refuses the start and says how to fix it', async () => {
  const first = await startHarness();
  const dataDir = first.dataDir;
  await first.app.stop();
  writeFileSync(join(dataDir, 'admin-token'), 'password\n');
  await assert.rejects(
    startHarness({ MAILSHIFT_ADMIN_TOKEN: '' }, { dataDir }),
    /admin token in .*admin-token is too weak: it has 8 characters.*delete the file/,
  );
  rmSync(dataDir, { recursive: true, force: true });
});
