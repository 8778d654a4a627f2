import type { Kysely, Selectable } from 'kysely';
import type { DomainKey, SendingDomain } from '../core/sender/sending-domain.ts';
import type { Database, DomainKeyTable, SendingDomainTable } from './schema.ts';

export type NewDomainKey = Omit<DomainKey, 'id' | 'retireAt'> & { sealedPrivateKey: string };

/** A key with its sealed private key, for the one service that opens it. */
export type SealedDomainKey = DomainKey & { sealedPrivateKey: string };

/** Customers' sending domains and their DKIM keys. */
export class SendingDomainRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async addDomain(d: Omit<SendingDomain, 'id'>): Promise<SendingDomain> {
    const { id } = await this.db
      .insertInto('sending_domains')
      .values({
        customer_id: d.customerId,
        domain: d.domain,
        verified: d.verified ? 1 : 0,
        verify_token: d.verifyToken,
        verified_at: d.verifiedAt,
        created_at: d.createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...d, id };
  }

  async findDomain(domain: string): Promise<SendingDomain | undefined> {
    const row = await this.db.selectFrom('sending_domains').selectAll().where('domain', '=', domain).executeTakeFirst();
    return row && toDomain(row);
  }

  /** Every domain, or one customer's, by name. */
  async listDomains(customerId?: number): Promise<SendingDomain[]> {
    let q = this.db.selectFrom('sending_domains').selectAll();
    if (customerId !== undefined) q = q.where('customer_id', '=', customerId);
    return (await q.orderBy('domain').execute()).map(toDomain);
  }

  async markVerified(id: number, at: number): Promise<void> {
    await this.db.updateTable('sending_domains').set({ verified: 1, verified_at: at }).where('id', '=', id).execute();
  }

  async addKey(key: NewDomainKey): Promise<SealedDomainKey> {
    const { id } = await this.db
      .insertInto('domain_keys')
      .values({
        domain_id: key.domainId,
        selector: key.selector,
        algorithm: key.algorithm,
        public_key: key.publicKey,
        sealed_private_key: key.sealedPrivateKey,
        created_at: key.createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...key, id, retireAt: null };
  }

  /** Keys of the given domains (all when none are given), oldest first. */
  async listKeys(domainIds?: readonly number[]): Promise<SealedDomainKey[]> {
    if (domainIds && domainIds.length === 0) return [];
    let q = this.db.selectFrom('domain_keys').selectAll();
    if (domainIds) q = q.where('domain_id', 'in', [...domainIds]);
    return (await q.orderBy('id').execute()).map(toKey);
  }

  /** Any one key, to try the secret key on. */
  async anyKey(): Promise<SealedDomainKey | undefined> {
    const row = await this.db.selectFrom('domain_keys').selectAll().orderBy('id').limit(1).executeTakeFirst();
    return row && toKey(row);
  }

  /** A rotation: the new keys and the retirement of the old ones in one transaction. */
  async rotate(keys: readonly NewDomainKey[], retiring: readonly number[], retireAt: number): Promise<SealedDomainKey[]> {
    return this.db.transaction().execute(async (trx) => {
      if (retiring.length > 0)
        await trx
          .updateTable('domain_keys')
          .set({ retire_at: retireAt })
          .where('id', 'in', [...retiring])
          .execute();
      const repo = new SendingDomainRepository(trx);
      const added: SealedDomainKey[] = [];
      for (const key of keys) added.push(await repo.addKey(key));
      return added;
    });
  }
}

function toDomain(row: Selectable<SendingDomainTable>): SendingDomain {
  return {
    id: row.id,
    customerId: row.customer_id,
    domain: row.domain,
    verified: row.verified === 1,
    verifyToken: row.verify_token,
    verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
    createdAt: Number(row.created_at),
  };
}

function toKey(row: Selectable<DomainKeyTable>): SealedDomainKey {
  return {
    id: row.id,
    domainId: row.domain_id,
    selector: row.selector,
    algorithm: row.algorithm,
    publicKey: row.public_key,
    sealedPrivateKey: row.sealed_private_key,
    createdAt: Number(row.created_at),
    retireAt: row.retire_at === null ? null : Number(row.retire_at),
  };
}
