import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seal, unseal } from './sealed-secret.ts';
import { loadSecretKey } from './secret-key.ts';

test('the secret key is made once in the data directory (0600) and read back the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailshift-key-'));
  try {
    const made = loadSecretKey(dir, {});
    assert.equal(made.length, 32);
    assert.equal(statSync(join(dir, 'secret-key')).mode & 0o777, 0o600);
    assert.deepEqual(loadSecretKey(dir, {}), made);
    const hex = 'ab'.repeat(32);
    assert.deepEqual(loadSecretKey(dir, { MAILSHIFT_SECRET_KEY: hex }), Buffer.from(hex, 'hex'));
    assert.throws(() => loadSecretKey(dir, { MAILSHIFT_SECRET_KEY: 'too-short' }), /must be 32 bytes/);
    assert.notEqual(readFileSync(join(dir, 'secret-key'), 'utf8').trim(), hex);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sealed secret opens only with its key and unaltered, and does not contain the plain text', () => {
  const key = Buffer.alloc(32, 7);
  const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIH…\n-----END PRIVATE KEY-----\n';
  const sealed = seal(key, pem);
  assert.doesNotMatch(sealed, /PRIVATE KEY/);
  assert.notEqual(seal(key, pem), sealed, 'a fresh IV each time');
  assert.equal(unseal(key, sealed), pem);
  assert.throws(() => unseal(Buffer.alloc(32, 8), sealed));
  const parts = sealed.split('.');
  parts[3] = `${parts[3].slice(0, -2)}AA`;
  assert.throws(() => unseal(key, parts.join('.')));
});
