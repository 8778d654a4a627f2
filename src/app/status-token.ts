import { createHash, randomBytes } from 'node:crypto';

/** A customer's status-page token is stored only as this hash: a leaked table opens no page. */
export function hashStatusToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new random status-page token (144 bits, URL-safe). */
export function newStatusToken(): string {
  return randomBytes(18).toString('base64url');
}
