import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Secrets are random and long, so a fast hash is enough; only the hash is stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** API keys read `ms_<lookup>_<secret>`: the lookup finds the row, the secret proves it. */
export function newApiKey(): { key: string; lookup: string; secret: string } {
  const lookup = randomBytes(6).toString('hex');
  const secret = newSecret();
  return { key: `ms_${lookup}_${secret}`, lookup, secret };
}

export function parseApiKey(key: string): { lookup: string; secret: string } | null {
  const m = /^ms_([0-9a-f]{12})_([A-Za-z0-9_-]{16,})$/.exec(key);
  return m ? { lookup: m[1], secret: m[2] } : null;
}
