import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { hashSecret, secretMatches } from './credentials.ts';

/** What sessions need of the store: rows that every node of a cluster shares. */
export interface SessionStore {
  create(id: string, now: number, expiresAt: number): Promise<void>;
  isActive(id: string, now: number): Promise<boolean>;
  revoke(id: string, now: number): Promise<boolean>;
}

export const sessionLifetimeMs = 12 * 3_600_000;

/**
 * Operators' sessions for the console. The cookie value is `<expiry>.<nonce>.<mac>` with
 * an HMAC keyed by the admin token, so a forged cookie costs no database read and a new
 * admin token ends every session; it is valid only while its row in the store is
 * unrevoked, so logging out ends it on every node. `wallClock` is the system clock on
 * purpose: a session lasts in wall time, even when the domain clock runs accelerated
 * (tests, simulate).
 */
export class OperatorSessions {
  constructor(
    private readonly store: SessionStore,
    private readonly adminToken: string,
    private readonly wallClock: Clock,
  ) {}

  /** A new session: the cookie value to hand out and when it expires. */
  async open(): Promise<{ cookie: string; expires: number }> {
    const now = this.wallClock.now();
    const expires = now + sessionLifetimeMs;
    const nonce = randomBytes(12).toString('base64url');
    await this.store.create(sessionId(nonce), now, expires);
    return { cookie: `${expires}.${nonce}.${mac(this.adminToken, `${expires}.${nonce}`)}`, expires };
  }

  /** The live session a cookie value names, or null for none, a forged one or an ended one. */
  async current(cookie: string | undefined): Promise<{ id: string; expires: number } | null> {
    const signed = this.signed(cookie);
    if (!signed) return null;
    return (await this.store.isActive(signed.id, this.wallClock.now())) ? signed : null;
  }

  /** Revokes the session a cookie value names, if it is genuine. */
  async close(cookie: string | undefined): Promise<void> {
    const signed = this.signed(cookie);
    if (signed) await this.store.revoke(signed.id, this.wallClock.now());
  }

  private signed(cookie: string | undefined): { id: string; expires: number } | null {
    const m = cookie === undefined ? null : /^(\d{13,})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
    if (!m) return null;
    const expires = Number(m[1]);
    if (!(expires > this.wallClock.now())) return null;
    // Compared as hashes: constant time whatever the lengths.
    return secretMatches(m[3], hashSecret(mac(this.adminToken, `${m[1]}.${m[2]}`))) ? { id: sessionId(m[2]), expires } : null;
  }
}

function sessionId(nonce: string): string {
  return createHash('sha256').update(nonce).digest('hex');
}

function mac(adminToken: string, payload: string): string {
  return createHmac('sha256', `mailshift-session:${adminToken}`).update(payload).digest('base64url');
}
