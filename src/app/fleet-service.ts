import { BlockList, isIP } from 'node:net';
import { DateTime } from 'luxon';
import type { Clock } from '../core/clock.ts';
import { DomainError, type Result } from '../core/errors.ts';
import type { Contact, Customer, Infrastructure, Instance, Relay } from '../core/fleet/fleet.ts';
import {
  parseRelaySpec,
  validatePort,
  validateTlsPolicy,
  validateContact,
  validateDkim,
  validateEnvironment,
  validateName,
  validateProductLine,
  validateShaping,
  validateAddress,
  type RelaySpec,
  validateBounceDomain,
} from '../core/fleet/fleet-input.ts';
import { validateSpfInclude, validateUnverifiedFrom } from '../core/sender/sending-domain.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { SuspensionRepository, ResumeResult, SuspendResult } from '../store/suspension-repository.ts';
import { hashSecret, newApiKey, newSecret, parseApiKey, secretMatches } from './credentials.ts';

export interface InfrastructureInput {
  name: unknown;
  relays?: unknown;
  deliveryMode?: unknown;
  sourceAddresses?: unknown;
  heloName?: unknown;
  dkim?: unknown;
  shaping?: unknown;
  verificationAddress?: unknown;
  mxPort?: unknown;
  tls?: unknown;
  mtaSts?: unknown;
  unverifiedFrom?: unknown;
  spfInclude?: unknown;
  bounceDomain?: unknown;
}

export interface InstanceInput {
  name: unknown;
  customer: unknown;
  productLine: unknown;
  environment: unknown;
  infrastructure: unknown;
  allowFrom?: unknown;
  listUnsubscribe?: unknown;
}

export interface InstanceCredentials {
  smtp: { username: string; password: string };
  apiKey: string;
}

export interface SuspensionListener {
  suspended(instanceId: number): void;
  resumed(instanceId: number): void;
}

function mtaSts(value: unknown, deliveryMode: string): boolean {
  if (value === undefined || value === false) return false;
  if (value !== true) throw new DomainError('invalid-request', 'mtaSts must be true or false');
  if (deliveryMode !== 'mx') throw new DomainError('invalid-request', 'mtaSts applies to direct-MX delivery (deliveryMode "mx") only');
  return true;
}

/** Stands in for the stored hash of a credential that does not exist; its secret is thrown away. */
const unknownSecretHash = hashSecret(newSecret());

/** Customers, infrastructures, instances, their credentials and suspension. */
export class FleetService {
  private readonly listeners: SuspensionListener[] = [];
  private readonly networkCache = new Map<number, BlockList>();
  private byNetwork: { at: number; instances: Instance[] } | null = null;

  constructor(
    private readonly fleet: FleetRepository,
    private readonly suspensions: SuspensionRepository,
    private readonly clock: Clock,
    private readonly defaults: { heloName: string; seal?: (secret: string) => string },
  ) {}

  onSuspension(listener: SuspensionListener): void {
    this.listeners.push(listener);
  }

  async createCustomer(input: { name: unknown; contacts?: unknown }): Promise<Customer> {
    const name = must(validateName('customer', input.name));
    const raw = Array.isArray(input.contacts) ? input.contacts : [];
    const contacts: Contact[] = raw.map((c: Record<string, unknown>) => must(validateContact(c ?? {}, isValidZone)));
    if (await this.fleet.findCustomer(name)) throw new DomainError('conflict', `customer ${name} already exists`);
    return this.fleet.createCustomer(name, contacts, this.clock.now());
  }

  async createInfrastructure(input: InfrastructureInput): Promise<Infrastructure> {
    const name = must(validateName('infrastructure', input.name));
    const deliveryMode = input.deliveryMode ?? 'relay';
    if (deliveryMode !== 'relay' && deliveryMode !== 'mx') throw new DomainError('invalid-request', 'deliveryMode must be "relay" or "mx"');
    const relayInputs = input.relays ?? [];
    if (!Array.isArray(relayInputs)) throw new DomainError('invalid-request', 'relays must be a list of "host:port" strings');
    const relays = relayInputs.map((r: unknown) => this.sealedRelay(must(parseRelaySpec(r))));
    if (deliveryMode === 'relay' && relays.length === 0) throw new DomainError('invalid-request', 'a relay infrastructure needs at least one relay');
    const sourceAddresses = input.sourceAddresses ?? [];
    if (!Array.isArray(sourceAddresses) || sourceAddresses.some((a) => typeof a !== 'string' || isIP(a) === 0)) {
      throw new DomainError('invalid-request', 'sourceAddresses must be a list of IP addresses');
    }
    const heloName = input.heloName ?? this.defaults.heloName;
    if (typeof heloName !== 'string' || !/^[a-z0-9.-]+$/i.test(heloName)) throw new DomainError('invalid-request', 'heloName must be a host name');
    // Without an explicit one, the canary goes to a mailbox under the HELO name, which any
    // relay that accepts our mail accepts too.
    const verificationAddress = must(
      validateAddress(input.verificationAddress ?? `mailshift-verify@${heloName.includes('.') ? heloName : `${heloName}.invalid`}`),
    );
    if (await this.fleet.findInfrastructure({ name })) throw new DomainError('conflict', `infrastructure ${name} already exists`);
    return this.fleet.createInfrastructure({
      name,
      deliveryMode,
      relays,
      sourceAddresses: sourceAddresses as string[],
      heloName,
      dkim: must(validateDkim(input.dkim ?? [])),
      shaping: must(validateShaping(input.shaping ?? [])),
      verificationAddress,
      createdAt: this.clock.now(),
      mxPort: input.mxPort === undefined || input.mxPort === null ? null : must(validatePort(input.mxPort, 'mxPort')),
      tls: input.tls === undefined ? 'opportunistic' : must(validateTlsPolicy(input.tls)),
      mtaSts: mtaSts(input.mtaSts, deliveryMode),
      unverifiedFrom: must(validateUnverifiedFrom(input.unverifiedFrom)),
      spfInclude: input.spfInclude === undefined || input.spfInclude === null ? null : must(validateSpfInclude(input.spfInclude)),
      bounceDomain: must(validateBounceDomain(input.bounceDomain)),
    });
  }

  /** A relay's password is sealed before it is stored; without the secret key no login can be kept. */
  private sealedRelay(spec: RelaySpec): Relay {
    if (!spec.login) return spec.relay;
    if (!this.defaults.seal) throw new DomainError('invalid-request', 'relay logins need a secret key (MAILSHIFT_SECRET_KEY)');
    return { ...spec.relay, login: { user: spec.login.user, sealedPassword: this.defaults.seal(spec.login.password) } };
  }

  async createInstance(input: InstanceInput): Promise<{ instance: Instance; credentials: InstanceCredentials }> {
    const name = must(validateName('instance', input.name));
    const productLine = must(validateProductLine(input.productLine));
    const environment = must(validateEnvironment(input.environment));
    const customer = await this.fleet.findCustomer(String(input.customer));
    if (!customer) throw new DomainError('not-found', `no customer named ${JSON.stringify(input.customer)}`);
    const infra = await this.fleet.findInfrastructure({ name: String(input.infrastructure) });
    if (!infra) throw new DomainError('not-found', `no infrastructure named ${JSON.stringify(input.infrastructure)}`);
    const allowFrom = input.allowFrom ?? [];
    if (!Array.isArray(allowFrom) || allowFrom.some((c) => typeof c !== 'string' || !parseCidr(c))) {
      throw new DomainError('invalid-request', 'allowFrom must be a list of CIDRs such as 10.0.0.0/24');
    }
    if (input.listUnsubscribe !== undefined && typeof input.listUnsubscribe !== 'boolean')
      throw new DomainError('invalid-request', 'listUnsubscribe must be true or false');
    if (await this.fleet.findInstance({ name })) throw new DomainError('conflict', `instance ${name} already exists`);
    const now = this.clock.now();
    const instance = await this.fleet.createInstance({
      name,
      customerId: customer.id,
      productLine,
      environment,
      infrastructureId: infra.id,
      allowFrom: allowFrom as string[],
      createdAt: now,
      listUnsubscribe: input.listUnsubscribe === true,
    });
    this.byNetwork = null;
    const password = newSecret();
    const api = newApiKey();
    await this.fleet.addCredential(instance.id, 'smtp', name, hashSecret(password), now);
    await this.fleet.addCredential(instance.id, 'api', api.lookup, hashSecret(api.secret), now);
    return { instance, credentials: { smtp: { username: name, password }, apiKey: api.key } };
  }

  async instanceByName(name: string): Promise<Instance> {
    const instance = await this.fleet.findInstance({ name });
    if (!instance) throw new DomainError('not-found', `no instance named ${JSON.stringify(name)}`);
    return instance;
  }

  /**
   * An unknown user name costs the same work as a wrong password (one hash compare, against
   * a hash nobody has the secret of), so the time taken does not tell which names exist.
   */
  async authenticateSmtp(username: string, password: string): Promise<Instance | null> {
    const cred = await this.fleet.findCredential('smtp', username);
    const matches = secretMatches(password, cred?.secretHash ?? unknownSecretHash);
    if (!cred || !matches) return null;
    return (await this.fleet.findInstance({ id: cred.instanceId })) ?? null;
  }

  /** Like authenticateSmtp: a malformed key or an unknown lookup id does the same work as a wrong secret. */
  async authenticateApiKey(key: string): Promise<Instance | null> {
    const parsed = parseApiKey(key);
    const cred = parsed ? await this.fleet.findCredential('api', parsed.lookup) : undefined;
    const matches = secretMatches(parsed?.secret ?? key, cred?.secretHash ?? unknownSecretHash);
    if (!cred || !matches) return null;
    return (await this.fleet.findInstance({ id: cred.instanceId })) ?? null;
  }

  /** The instance whose allowed networks contain `address`, for relaying without AUTH. */
  async instanceForAddress(address: string): Promise<Instance | null> {
    // Read once per few seconds, not per message: relaying by network is the hot path of bulk senders.
    const now = this.clock.now();
    if (!this.byNetwork || now - this.byNetwork.at > 5000) {
      this.byNetwork = { at: now, instances: (await this.fleet.listInstances()).filter((i) => i.allowFrom.length > 0) };
    }
    const instances = this.byNetwork.instances;
    const plain = address.replace(/^::ffff:(?=\d+\.)/, '');
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    for (const instance of instances) {
      if (instance.allowFrom.length === 0) continue;
      let list = this.networkCache.get(instance.id);
      if (!list) {
        list = new BlockList();
        for (const cidr of instance.allowFrom) {
          const c = parseCidr(cidr)!;
          list.addSubnet(c.address, c.prefix, c.family);
        }
        this.networkCache.set(instance.id, list);
      }
      if (list.check(plain, family)) return instance;
    }
    return null;
  }

  async suspend(name: string, reason = 'operator'): Promise<SuspendResult> {
    const instance = await this.instanceByName(name);
    const result = await this.suspensions.suspend(instance.id, this.clock.now(), reason);
    if (result.kind === 'suspended') for (const l of this.listeners) l.suspended(instance.id);
    return result;
  }

  async resume(name: string): Promise<ResumeResult> {
    const instance = await this.instanceByName(name);
    const result = await this.suspensions.resume(instance.id, this.clock.now());
    if (result.kind === 'resumed') for (const l of this.listeners) l.resumed(instance.id);
    return result;
  }
}

function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, prefixText] = text.split('/');
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function isValidZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

function must<T>(result: Result<T>): T {
  if (!result.ok) throw new DomainError(result.error.code, result.error.detail);
  return result.value;
}
