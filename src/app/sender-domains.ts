import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { DomainError, type Result } from '../core/errors.ts';
import type { Customer, Infrastructure, Instance } from '../core/fleet/fleet.ts';
import {
  dkimRecordName,
  dkimRecordValue,
  fromDomain,
  keyState,
  owningDomain,
  validateAlgorithm,
  validateDomainName,
  validateSelector,
  verificationName,
  verificationValue,
  type DkimAlgorithm,
  type DomainKey,
  type KeyState,
  type SendingDomain,
} from '../core/sender/sending-domain.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { NewDomainKey, SendingDomainRepository } from '../store/sending-domain-repository.ts';
import { generateKeyMaterial, importKeyMaterial, rsaBits, type KeyMaterial } from './dkim-key-material.ts';
import { openSecret as unseal, sealSecret as seal } from './sealed-secret.ts';

/** The TXT look-ups of sending domains, declared here so the app layer does not import the engine's resolver. */
export interface TxtLookup {
  resolveTxt(name: string): Promise<string[][]>;
}

/** What the delivery engine signs with (its `SigningKey`). */
export interface SigningKeyPem {
  domain: string;
  selector: string;
  privateKey: string;
}

export interface DomainInfo {
  domain: SendingDomain;
  customer: string;
}

export interface KeyInfo {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  dnsName: string;
  dnsValue: string;
  state: KeyState;
  createdAt: number;
  retireAt: number | null;
}

export interface Verification {
  domain: string;
  verified: boolean;
  detail: string;
}

interface CustomerKeys {
  at: number;
  domains: { domain: string; verified: boolean; keys: SigningKeyPem[] }[];
}

/** How long a node signs with what it read of a customer's domains and keys (other nodes' changes show within it). */
const cacheMs = 5_000;

/**
 * Customers' sending domains, their verification and DKIM keys; which keys sign a message,
 * and whether its From may be sent at all. Private keys are sealed with the secret key.
 */
export class SenderDomains {
  private readonly byCustomer = new Map<number, CustomerKeys>();
  private readonly customerOf = new Map<number, number>();
  private readonly policies = new Map<number, { at: number; infra: Infrastructure }>();

  constructor(
    private readonly repo: SendingDomainRepository,
    private readonly fleet: Pick<FleetRepository, 'findCustomer' | 'listCustomers' | 'findInstance' | 'findInfrastructure'>,
    private readonly dns: TxtLookup,
    private readonly clock: Clock,
    private readonly options: { secretKey: Buffer; graceMs: number },
  ) {}

  async addDomain(input: { domain: unknown; customer: unknown; verified?: unknown }): Promise<DomainInfo> {
    const name = must(validateDomainName(input.domain));
    const customer = await this.customer(input.customer);
    if (await this.repo.findDomain(name)) throw new DomainError('conflict', `domain ${name} is already a sending domain`);
    // A parent or subdomain of another customer's domain would let one sign into the other's name space.
    const related = (await this.repo.listDomains()).find(
      (d) => d.customerId !== customer.id && (name.endsWith(`.${d.domain}`) || d.domain.endsWith(`.${name}`)),
    );
    if (related) throw new DomainError('conflict', `${name} overlaps ${related.domain}, a sending domain of another customer`);
    const now = this.clock.now();
    const verified = input.verified === true;
    const domain = await this.repo.addDomain({
      customerId: customer.id,
      domain: name,
      verified,
      verifyToken: randomBytes(16).toString('hex'),
      verifiedAt: verified ? now : null,
      createdAt: now,
    });
    this.byCustomer.delete(customer.id);
    return { domain, customer: customer.name };
  }

  async listDomains(customer?: string): Promise<DomainInfo[]> {
    const owner = customer === undefined ? undefined : await this.customer(customer);
    const names = new Map((await this.fleet.listCustomers()).map((c) => [c.id, c.name]));
    return (await this.repo.listDomains(owner?.id)).map((domain) => ({ domain, customer: names.get(domain.customerId) ?? String(domain.customerId) }));
  }

  async findDomain(name: string): Promise<DomainInfo> {
    const domain = await this.repo.findDomain(must(validateDomainName(name)));
    if (!domain) throw new DomainError('not-found', `no sending domain ${name}`);
    const customer = (await this.fleet.listCustomers()).find((c) => c.id === domain.customerId);
    return { domain, customer: customer?.name ?? String(domain.customerId) };
  }

  /**
   * Null when the secret key opens the stored keys (or none are stored); else why not: a
   * node given another key than the others would sign nothing, so it must not start.
   */
  async secretKeyProblem(): Promise<string | null> {
    const key = await this.repo.anyKey();
    if (!key) return null;
    try {
      unseal(this.options.secretKey, key.sealedPrivateKey);
      return null;
    } catch {
      return 'the secret key does not open the DKIM keys in the store: give every node the MAILSHIFT_SECRET_KEY (or <data dir>/secret-key) they were sealed with';
    }
  }

  /** Looks for the verification token in DNS; a verified domain stays verified. */
  async verify(name: string): Promise<Verification> {
    const { domain } = await this.findDomain(name);
    if (domain.verified) return { domain: domain.domain, verified: true, detail: 'already verified' };
    const where = verificationName(domain.domain);
    const expected = verificationValue(domain.verifyToken);
    const found = await lookupTxt(this.dns, where);
    if (!found.ok) return { domain: domain.domain, verified: false, detail: `${where}: ${found.error.detail}` };
    if (!found.value.includes(expected)) {
      return { domain: domain.domain, verified: false, detail: `no TXT record "${expected}" at ${where} (found ${found.value.length} other record(s))` };
    }
    await this.repo.markVerified(domain.id, this.clock.now());
    this.byCustomer.delete(domain.customerId);
    return { domain: domain.domain, verified: true, detail: `TXT record found at ${where}` };
  }

  /** A new key for a domain of the customer (the domain is added, unverified, when new). */
  async addKey(input: { domain: unknown; customer: unknown; selector?: unknown; algorithm?: unknown; bits?: unknown }): Promise<KeyInfo> {
    const algorithm = must(validateAlgorithm(input.algorithm));
    const bits = input.bits === undefined ? 2048 : Number(input.bits);
    return this.addMaterial(input, generateKeyMaterial(algorithm, bits));
  }

  /** An existing private key (PEM), e.g. one an infrastructure signed with so far. */
  async importKey(input: { domain: unknown; customer: unknown; selector?: unknown; privateKey: unknown }): Promise<KeyInfo> {
    if (typeof input.privateKey !== 'string') throw new DomainError('invalid-request', 'privateKey must be a PEM string');
    return this.addMaterial(input, importKeyMaterial(input.privateKey));
  }

  /**
   * New keys replace the active ones (of `algorithm`, or all): the new selectors sign at
   * once; the old keys' records stay needed for the grace period, so mail signed before
   * still verifies, and are then retired.
   */
  async rotate(name: string, input: { algorithm?: unknown; graceMs?: number } = {}): Promise<KeyInfo[]> {
    const { domain } = await this.findDomain(name);
    const only = input.algorithm === undefined ? undefined : must(validateAlgorithm(input.algorithm));
    const now = this.clock.now();
    const keys = await this.repo.listKeys([domain.id]);
    const old = keys.filter((k) => keyState(k, now) === 'active' && (only === undefined || k.algorithm === only));
    if (old.length === 0) throw new DomainError('invalid-state', `${domain.domain} has no active ${only ?? 'DKIM'} key to rotate; add one with dkim add`);
    const taken = new Set(keys.map((k) => k.selector));
    const fresh = old.map((k) => this.newKey(domain.id, generateKeyMaterial(k.algorithm, k.algorithm === 'rsa' ? rsaBits(k.publicKey) : 0), taken));
    const added = await this.repo.rotate(
      fresh,
      old.map((k) => k.id),
      now + (input.graceMs ?? this.options.graceMs),
    );
    this.byCustomer.delete(domain.customerId);
    return added.map((k) => keyInfo(domain.domain, k, now));
  }

  /** Every key of one domain, or of all, with the DNS record each needs and its state. */
  async listKeys(name?: string): Promise<KeyInfo[]> {
    const domains = name === undefined ? await this.repo.listDomains() : [(await this.findDomain(name)).domain];
    const byId = new Map(domains.map((d) => [d.id, d.domain]));
    const now = this.clock.now();
    return (await this.repo.listKeys([...byId.keys()])).map((k) => keyInfo(byId.get(k.domainId) ?? '', k, now));
  }

  /**
   * The keys that sign a message of an instance: those of its customer's verified domain
   * that owns the From domain (each active key, so RSA and Ed25519 may both sign). A
   * domain with no keys of its own falls back to the infrastructure's keys for it, which
   * still requires the domain to be the customer's and verified. Anything else: unsigned.
   */
  async signingKeys(instanceId: number, infra: Pick<Infrastructure, 'dkim'>, raw: Buffer): Promise<SigningKeyPem[]> {
    const from = fromDomain(raw);
    if (!from) return [];
    const customerId = await this.customerOfInstance(instanceId);
    if (customerId === undefined) return [];
    const owned = owningDomain(await this.customerKeys(customerId), from);
    if (!owned?.verified) return [];
    if (owned.keys.length > 0) return owned.keys;
    return infra.dkim.filter((k) => k.domain === from || from.endsWith(`.${k.domain}`)).filter((k) => owningDomain([owned], k.domain));
  }

  /** Refuses (550 5.7.1) mail whose From its customer has not verified, where the infrastructure says so. */
  async checkFrom(instance: Instance, raw: Buffer): Promise<void> {
    if (instance.system) return;
    const infra = await this.infrastructure(instance.infrastructureId);
    if (infra?.unverifiedFrom !== 'refuse') return;
    const from = fromDomain(raw);
    const owned = from ? owningDomain(await this.customerKeys(instance.customerId), from) : undefined;
    if (owned?.verified) return;
    const why = !from
      ? 'the message has no From domain'
      : owned
        ? `${owned.domain} is not verified yet (mailshift domain verify ${owned.domain})`
        : `${from} is not a sending domain of this instance's customer`;
    throw new DomainError('forbidden', `sender refused: ${why}; infrastructure ${infra.name} refuses unverified From domains`);
  }

  private async addMaterial(input: { domain: unknown; customer: unknown; selector?: unknown }, material: KeyMaterial): Promise<KeyInfo> {
    const name = must(validateDomainName(input.domain));
    const customer = await this.customer(input.customer);
    const domain = (await this.repo.findDomain(name)) ?? (await this.addDomain({ domain: name, customer: customer.name })).domain;
    if (domain.customerId !== customer.id) throw new DomainError('conflict', `domain ${name} belongs to another customer`);
    const keys = await this.repo.listKeys([domain.id]);
    const selector = input.selector === undefined ? undefined : must(validateSelector(input.selector));
    if (selector && keys.some((k) => k.selector === selector)) throw new DomainError('conflict', `${name} already has a key with selector ${selector}`);
    const key = await this.repo.addKey(this.newKey(domain.id, material, new Set(keys.map((k) => k.selector)), selector));
    this.byCustomer.delete(customer.id);
    return keyInfo(domain.domain, key, this.clock.now());
  }

  private newKey(domainId: number, material: KeyMaterial, taken: Set<string>, selector?: string): NewDomainKey {
    const chosen = selector ?? defaultSelector(material.algorithm, this.clock.now(), taken);
    taken.add(chosen);
    return {
      domainId,
      selector: chosen,
      algorithm: material.algorithm,
      publicKey: material.publicKey,
      sealedPrivateKey: seal(this.options.secretKey, material.privateKey),
      createdAt: this.clock.now(),
    };
  }

  private async customer(name: unknown): Promise<Customer> {
    const customer = typeof name === 'string' ? await this.fleet.findCustomer(name) : undefined;
    if (!customer) throw new DomainError('not-found', `no customer named ${JSON.stringify(name)}`);
    return customer;
  }

  private async customerOfInstance(instanceId: number): Promise<number | undefined> {
    let id = this.customerOf.get(instanceId);
    if (id === undefined) {
      id = (await this.fleet.findInstance({ id: instanceId }))?.customerId;
      if (id !== undefined) this.customerOf.set(instanceId, id);
    }
    return id;
  }

  private async customerKeys(customerId: number): Promise<CustomerKeys['domains']> {
    const now = this.clock.now();
    const cached = this.byCustomer.get(customerId);
    if (cached && now - cached.at < cacheMs) return cached.domains;
    const domains = await this.repo.listDomains(customerId);
    const keys = await this.repo.listKeys(domains.map((d) => d.id));
    const entry: CustomerKeys = {
      at: now,
      domains: domains.map((d) => ({
        domain: d.domain,
        verified: d.verified,
        keys: keys
          .filter((k) => k.domainId === d.id && keyState(k, now) === 'active')
          .map((k) => ({ domain: d.domain, selector: k.selector, privateKey: unseal(this.options.secretKey, k.sealedPrivateKey) })),
      })),
    };
    this.byCustomer.set(customerId, entry);
    return entry.domains;
  }

  private async infrastructure(id: number): Promise<Infrastructure | undefined> {
    const now = this.clock.now();
    const cached = this.policies.get(id);
    if (cached && now - cached.at < cacheMs) return cached.infra;
    const infra = await this.fleet.findInfrastructure({ id });
    if (infra) this.policies.set(id, { at: now, infra });
    return infra;
  }
}

/** The TXT records at a name, each joined from its strings; none for NXDOMAIN or no data. */
export async function lookupTxt(dns: TxtLookup, name: string): Promise<Result<string[]>> {
  try {
    return { ok: true, value: (await dns.resolveTxt(name)).map((parts) => parts.join('')) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { ok: true, value: [] };
    return { ok: false, error: { code: 'unavailable', detail: `DNS look-up failed (${code ?? 'error'})` } };
  }
}

function keyInfo(domain: string, key: DomainKey, now: number): KeyInfo {
  return {
    domain,
    selector: key.selector,
    algorithm: key.algorithm,
    dnsName: dkimRecordName(key.selector, domain),
    dnsValue: dkimRecordValue(key.algorithm, key.publicKey),
    state: keyState(key, now),
    createdAt: key.createdAt,
    retireAt: key.retireAt,
  };
}

/** `rsa-20261206`, `ed25519-20261206`, then `-2`, `-3`… when a domain gets several in a day. */
function defaultSelector(algorithm: DkimAlgorithm, now: number, taken: Set<string>): string {
  const base = `${algorithm}-${new Date(now).toISOString().slice(0, 10).replaceAll('-', '')}`;
  let selector = base;
  for (let n = 2; taken.has(selector); n++) selector = `${base}-${n}`;
  return selector;
}

function must<T>(result: Result<T>): T {
  if (!result.ok) throw new DomainError(result.error.code, result.error.detail);
  return result.value;
}
