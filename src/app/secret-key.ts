import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config.ts';

/**
 * The key that seals secrets at rest (DKIM private keys): `MAILSHIFT_SECRET_KEY` (32 bytes
 * as 64 hex digits or base64), else `<dataDir>/secret-key`, made on first start with mode
 * 0600 like the admin token. Every node of a cluster must be given the same key.
 */
export function loadSecretKey(dataDir: string, env: { MAILSHIFT_SECRET_KEY?: string }): Buffer {
  const given = env.MAILSHIFT_SECRET_KEY?.trim();
  if (given) return parseSecretKey(given, 'MAILSHIFT_SECRET_KEY');
  const path = join(dataDir, 'secret-key');
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    return parseSecretKey(readFileSync(path, 'utf8').trim(), path);
  }
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600 });
  return key;
}

function parseSecretKey(text: string, source: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new ConfigError(`the secret key in ${source} must be 32 bytes, as 64 hex digits or base64`);
  return key;
}
