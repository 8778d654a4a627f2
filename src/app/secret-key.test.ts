import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSecretKey } from './secret-key.ts';
import { openSecret, sealSecret } from './sealed-secret.ts';

test('the secret key: MAILSHIFT_SECRET_KEY when given, else made once in the data directory and kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailshift-key-'));
  try {
    const hex = 'ab'.repeat(32);
    assert.deepEqual(loadSecretKey(dir, { MAILSHIFT_SECRET_KEY: hex }), Buffer.from(hex, 'hex'));
    assert.deepEqual(loadSecretKey(dir, { MAILSHIFT_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') }), Buffer.alloc(32, 7));
    assert.throws(() => loadSecretKey(dir, { MAILSHIFT_SECRET_KEY: 'short' }), /must be 32 bytes/);
    const made = loadSecretKey(dir, {});
    assert.equal(made.length, 32);
    assert.equal(statSync(join(dir, 'secret-key')).mode & 0o777, 0o600);
    assert.deepEqual(loadSecretKey(dir, {}), made);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sealed secret opens with its key only, and not once altered', () => {
  const key = Buffer.alloc(32, 1);
  const sealed = sealSecret(key, 'relay pässword');
  assert.ok(!sealed.includes('relay'));
  assert.notEqual(sealSecret(key, 'relay pässword'), sealed, 'a fresh IV each time');
  assert.equal(openSecret(key, sealed), 'relay pässword');
  assert.throws(() => openSecret(Buffer.alloc(32, 2), sealed), /does not open with this secret key/);
  const [v, iv, tag, data] = sealed.split('.');
  const altered = [v, iv, tag, `${data.slice(0, -1)}${data.endsWith('A') ? 'B' : 'A'}`].join('.');
  assert.throws(() => openSecret(key, altered));
  assert.throws(() => openSecret(key, 'plain text'), /not a sealed secret/);
});
