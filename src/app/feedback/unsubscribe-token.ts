import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a one-click unsubscribe link stands for: one recipient of one instance, and the delivery that carried it. */
export interface UnsubscribeTarget {
  instanceId: number;
  deliveryId: number;
  recipient: string;
}

const signatureBytes = 16;
const tokenPattern = /^([0-9a-z]{1,11})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{1,600})\.([A-Za-z0-9_-]{22})$/;

/**
 * Tokens of one-click unsubscribe links: `<instance>.<delivery>.<recipient>.<signature>`
 * (ids in base 36, the recipient in base64url, 128 bits of HMAC-SHA256). The recipient is
 * inside, so a link still works after its message has left the spool (RFC 8058 asks that
 * it keeps working), and nobody can make one for an address they were not sent.
 */
export class UnsubscribeTokens {
  private readonly keys: readonly Buffer[];

  /** `secrets`: newest first; links are signed with the first and checked against all. */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0 || secrets.some((s) => s.length < 16)) throw new Error('unsubscribe secrets must be at least 16 characters');
    this.keys = secrets.map((s) => Buffer.from(s, 'utf8'));
  }

  make(target: UnsubscribeTarget): string {
    const payload = `${target.instanceId.toString(36)}.${target.deliveryId.toString(36)}.${Buffer.from(target.recipient.toLowerCase(), 'utf8').toString('base64url')}`;
    return `${payload}.${sign(this.keys[0], payload)}`;
  }

  /** The target of a token, or null when it is not one of ours (garbage, tampered, another cluster's). */
  read(token: string): UnsubscribeTarget | null {
    if (typeof token !== 'string' || token.length > 700) return null;
    const m = tokenPattern.exec(token);
    if (!m) return null;
    const payload = `${m[1]}.${m[2]}.${m[3]}`;
    const given = Buffer.from(m[4]);
    if (!this.keys.some((key) => timingSafeEqual(Buffer.from(sign(key, payload)), given))) return null;
    const instanceId = parseInt(m[1], 36);
    const deliveryId = parseInt(m[2], 36);
    const recipient = Buffer.from(m[3], 'base64url').toString('utf8');
    if (!Number.isSafeInteger(instanceId) || !Number.isSafeInteger(deliveryId) || !recipient.includes('@')) return null;
    return { instanceId, deliveryId, recipient };
  }
}

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(`unsubscribe1:${payload}`).digest().subarray(0, signatureBytes).toString('base64url');
}
