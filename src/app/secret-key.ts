import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Bytes of the key that seals secrets at rest (AES-256). */
export const secretKeyBytes = 32;

/**
 * The key that seals secrets kept in the store (relay passwords, private keys):
 * `MAILSHIFT_SECRET_KEY` (64 hex digits, or 32 bytes in base64), else `<dataDir>/secret-key`,
 * made on first start like the admin token. Every node of a cluster needs the same key.
 */
export function loadSecretKey(dataDir: string, env: { MAILSHIFT_SECRET_KEY?: string }): Buffer {
  const given = env.MAILSHIFT_SECRET_KEY?.trim();
  if (given) return decodeKey(given, 'MAILSHIFT_SECRET_KEY');
  const path = join(dataDir, 'secret-key');
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    return decodeKey(readFileSync(path, 'utf8').trim(), path);
  }
  const key = randomBytes(secretKeyBytes);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600 });
  return key;
}

function decodeKey(text: string, source: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== secretKeyBytes) throw new Error(`${source}: the secret key must be ${secretKeyBytes} bytes, as 64 hex digits or in base64`);
  return key;
}

/** A key for one purpose ("verp", "unsubscribe"), so no two uses share a key. */
export function derivedKey(secretKey: Buffer, purpose: string): string {
  return createHmac('sha256', secretKey).update(`mailshift:${purpose}`).digest('base64url');
}
