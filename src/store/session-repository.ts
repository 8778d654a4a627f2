import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Issued console sessions, so that revocation is shared by every node of a cluster. Ids
 * are hashes of the cookie's nonce; callers pass `now` (epoch ms).
 */
export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a new session and forgets expired ones, so the table stays bounded by live sessions. */
  async create(id: string, now: number, expiresAt: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
    await this.db.insertInto('sessions').values({ id, created_at: now, expires_at: expiresAt, revoked_at: null }).execute();
  }

  /** True while the session is neither revoked nor expired. */
  async isActive(id: string, now: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Ends a session at once; false when it was unknown or already ended. */
  async revoke(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Removes expired rows (revoked or not); returns how many. */
  async prune(now: number): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
