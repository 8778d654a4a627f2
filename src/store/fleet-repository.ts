import type { Kysely, Selectable } from 'kysely';
import type { Database, InfrastructureTable, InstanceTable } from './schema.ts';
import type { Contact, CredentialKind, Customer, Infrastructure, Instance } from '../core/fleet/fleet.ts';

type Defaulted = 'mxPort' | 'tls' | 'mtaSts' | 'unverifiedFrom' | 'spfInclude';
type NewInfrastructure = Omit<Infrastructure, 'id' | Defaulted> & Partial<Pick<Infrastructure, Defaulted>>;
type NewInstance = Omit<Instance, 'id' | 'suspended' | 'suspendedAt' | 'suspendedReason' | 'system' | 'listUnsubscribe'> & {
  system?: boolean;
  listUnsubscribe?: boolean;
};

/** Customers, instances, infrastructures and credentials. */
export class FleetRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async createCustomer(name: string, contacts: Contact[], now: number): Promise<Customer> {
    return this.db.transaction().execute(async (trx) => {
      const { id } = await trx.insertInto('customers').values({ name, created_at: now }).returning('id').executeTakeFirstOrThrow();
      if (contacts.length > 0) {
        await trx
          .insertInto('contacts')
          .values(contacts.map((c) => ({ customer_id: id, email: c.email, locale: c.locale, timezone: c.timezone })))
          .execute();
      }
      return { id, name, contacts, createdAt: now };
    });
  }

  async listCustomers(): Promise<Customer[]> {
    const [customers, contacts] = await Promise.all([
      this.db.selectFrom('customers').selectAll().orderBy('name').execute(),
      this.db.selectFrom('contacts').selectAll().orderBy('id').execute(),
    ]);
    return customers.map((c) => ({
      id: c.id,
      name: c.name,
      createdAt: c.created_at,
      contacts: contacts.filter((k) => k.customer_id === c.id).map(({ email, locale, timezone }) => ({ email, locale, timezone })),
    }));
  }

  async findCustomer(name: string): Promise<Customer | undefined> {
    const row = await this.db.selectFrom('customers').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) return undefined;
    const contacts = await this.db.selectFrom('contacts').select(['email', 'locale', 'timezone']).where('customer_id', '=', row.id).orderBy('id').execute();
    return { id: row.id, name: row.name, createdAt: row.created_at, contacts };
  }

  async createInfrastructure(infra: NewInfrastructure): Promise<Infrastructure> {
    const { id } = await this.db
      .insertInto('infrastructures')
      .values({
        name: infra.name,
        relays: JSON.stringify(infra.relays),
        delivery_mode: infra.deliveryMode,
        source_addresses: JSON.stringify(infra.sourceAddresses),
        helo_name: infra.heloName,
        dkim: JSON.stringify(infra.dkim),
        shaping: JSON.stringify(infra.shaping),
        verification_address: infra.verificationAddress,
        created_at: infra.createdAt,
        mx_port: infra.mxPort ?? null,
        tls_policy: infra.tls ?? 'opportunistic',
        mta_sts: infra.mtaSts ? 1 : 0,
        unverified_from: infra.unverifiedFrom ?? 'unsigned',
        spf_include: infra.spfInclude ?? null,
        bounce_domain: infra.bounceDomain ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return {
      ...infra,
      id,
      mxPort: infra.mxPort ?? null,
      tls: infra.tls ?? 'opportunistic',
      mtaSts: infra.mtaSts ?? false,
      unverifiedFrom: infra.unverifiedFrom ?? 'unsigned',
      spfInclude: infra.spfInclude ?? null,
    };
  }

  async listInfrastructures(): Promise<Infrastructure[]> {
    const rows = await this.db.selectFrom('infrastructures').selectAll().orderBy('name').execute();
    return rows.map(toInfrastructure);
  }

  async findInfrastructure(by: { name: string } | { id: number }): Promise<Infrastructure | undefined> {
    let q = this.db.selectFrom('infrastructures').selectAll();
    q = 'name' in by ? q.where('name', '=', by.name) : q.where('id', '=', by.id);
    const row = await q.executeTakeFirst();
    return row && toInfrastructure(row);
  }

  /** The bounce domains of every infrastructure: the domains the feedback listener is the MX of. */
  async bounceDomains(): Promise<string[]> {
    const rows = await this.db.selectFrom('infrastructures').select('bounce_domain').where('bounce_domain', 'is not', null).execute();
    return rows.map((r) => r.bounce_domain!);
  }

  async updateRelays(id: number, relays: Infrastructure['relays']): Promise<void> {
    await this.db
      .updateTable('infrastructures')
      .set({ relays: JSON.stringify(relays) })
      .where('id', '=', id)
      .execute();
  }

  async createInstance(instance: NewInstance): Promise<Instance> {
    const { id } = await this.db
      .insertInto('instances')
      .values({
        name: instance.name,
        customer_id: instance.customerId,
        product_line: instance.productLine,
        environment: instance.environment,
        infrastructure_id: instance.infrastructureId,
        suspended: 0,
        allow_from: JSON.stringify(instance.allowFrom),
        created_at: instance.createdAt,
        system: instance.system ? 1 : 0,
        list_unsubscribe: instance.listUnsubscribe ? 1 : 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return {
      ...instance,
      id,
      suspended: false,
      suspendedAt: null,
      suspendedReason: null,
      system: instance.system ?? false,
      listUnsubscribe: instance.listUnsubscribe ?? false,
    };
  }

  async listInstances(): Promise<Instance[]> {
    const rows = await this.db.selectFrom('instances').selectAll().orderBy('name').execute();
    return rows.map(toInstance);
  }

  async findInstance(by: { name: string } | { id: number }): Promise<Instance | undefined> {
    let q = this.db.selectFrom('instances').selectAll();
    q = 'name' in by ? q.where('name', '=', by.name) : q.where('id', '=', by.id);
    const row = await q.executeTakeFirst();
    return row && toInstance(row);
  }

  async rebindInstance(instanceId: number, infrastructureId: number): Promise<void> {
    await this.db.updateTable('instances').set({ infrastructure_id: infrastructureId }).where('id', '=', instanceId).execute();
  }

  async addCredential(instanceId: number, kind: CredentialKind, lookup: string, secretHash: string, now: number): Promise<void> {
    await this.db.insertInto('credentials').values({ instance_id: instanceId, kind, lookup, secret_hash: secretHash, created_at: now }).execute();
  }

  async findCredential(kind: CredentialKind, lookup: string): Promise<{ instanceId: number; secretHash: string } | undefined> {
    const row = await this.db
      .selectFrom('credentials')
      .select(['instance_id', 'secret_hash'])
      .where('kind', '=', kind)
      .where('lookup', '=', lookup)
      .executeTakeFirst();
    return row && { instanceId: row.instance_id, secretHash: row.secret_hash };
  }
}

export function toInfrastructure(row: Selectable<InfrastructureTable>): Infrastructure {
  return {
    id: row.id,
    name: row.name,
    deliveryMode: row.delivery_mode,
    relays: JSON.parse(row.relays),
    sourceAddresses: JSON.parse(row.source_addresses),
    heloName: row.helo_name,
    dkim: JSON.parse(row.dkim),
    shaping: JSON.parse(row.shaping),
    verificationAddress: row.verification_address,
    createdAt: row.created_at,
    mxPort: row.mx_port,
    tls: row.tls_policy,
    mtaSts: row.mta_sts === 1,
    unverifiedFrom: row.unverified_from,
    spfInclude: row.spf_include,
    bounceDomain: row.bounce_domain,
  };
}

export function toInstance(row: Selectable<InstanceTable>): Instance {
  return {
    id: row.id,
    name: row.name,
    customerId: row.customer_id,
    productLine: row.product_line,
    environment: row.environment,
    infrastructureId: row.infrastructure_id,
    suspended: row.suspended === 1,
    suspendedAt: row.suspended_at,
    suspendedReason: row.suspended_reason,
    allowFrom: JSON.parse(row.allow_from),
    createdAt: row.created_at,
    system: row.system === 1,
    listUnsubscribe: row.list_unsubscribe === 1,
  };
}
