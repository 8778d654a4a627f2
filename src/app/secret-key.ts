import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The cluster's secret key: MAILSHIFT_SECRET_KEY when set (a cluster sets it on every node,
 * since what one node signs another must check), else `<dataDir>/secret-key`, made on
 * first start and readable by mailshift's user only. Purposes take keys derived from it
 * (`derivedKey`), never the key itself.
 */
export function loadSecretKey(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const path = join(dataDir, 'secret-key');
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const key = readFileSync(path, 'utf8').trim();
    if (key.length >= 20) return key;
    throw new Error(`the secret key in ${path} is shorter than 20 characters; delete the file to have a strong one made`);
  }
  const key = randomBytes(32).toString('base64url');
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return key;
}

/** A key for one purpose ("verp", "unsubscribe"), so no two uses share a key. */
export function derivedKey(secretKey: string, purpose: string): string {
  return createHmac('sha256', secretKey).update(`mailshift:${purpose}`).digest('base64url');
}
