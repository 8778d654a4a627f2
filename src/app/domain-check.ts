import { DomainError } from '../core/errors.ts';
import type { Infrastructure, Instance } from '../core/fleet/fleet.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import { lookupTxt, type KeyInfo, type SenderDomains } from './sender-domains.ts';
import { checkSpf, type SpfLookup, type SpfResult } from './spf-check.ts';

export interface SpfCheck {
  ok: boolean;
  detail: string;
  addresses: { address: string; result: SpfResult; detail: string }[];
}

export interface DkimRecordCheck {
  selector: string;
  algorithm: string;
  state: KeyInfo['state'];
  dnsName: string;
  ok: boolean;
  detail: string;
}

export interface DmarcCheck {
  ok: boolean;
  detail: string;
  record: string | null;
  policy: string | null;
}

export interface DomainCheck {
  domain: string;
  customer: string;
  verified: boolean;
  infrastructure: string | null;
  ok: boolean;
  spf: SpfCheck;
  dkim: { ok: boolean; detail: string; records: DkimRecordCheck[] };
  dmarc: DmarcCheck;
}

/**
 * A sending domain's authentication as receivers will see it, over DNS: SPF covers the
 * infrastructure's source addresses, each DKIM selector's record holds its key, and a
 * DMARC record exists that DKIM aligns with. Also the switch's pre-check of a target.
 */
export class DomainChecks {
  constructor(
    private readonly senders: SenderDomains,
    private readonly fleet: Pick<FleetRepository, 'findInfrastructure' | 'listInstances'>,
    private readonly dns: SpfLookup,
  ) {}

  /** Against `infrastructure`, or else the one the customer's first instance is bound to. */
  async check(name: string, infrastructure?: string): Promise<DomainCheck> {
    const { domain, customer } = await this.senders.findDomain(name);
    let infra: Infrastructure | undefined;
    if (infrastructure !== undefined) {
      infra = await this.fleet.findInfrastructure({ name: infrastructure });
      if (!infra) throw new DomainError('not-found', `no infrastructure named ${JSON.stringify(infrastructure)}`);
    } else {
      const bound = (await this.fleet.listInstances()).find((i) => i.customerId === domain.customerId);
      infra = bound && (await this.fleet.findInfrastructure({ id: bound.infrastructureId }));
    }
    const [spf, dkim, dmarc] = await Promise.all([
      infra ? this.spf(domain.domain, infra) : Promise.resolve(unchecked('no infrastructure to check against (give one)')),
      this.dkim(domain.domain),
      this.dmarc(domain.domain),
    ]);
    return {
      domain: domain.domain,
      customer,
      verified: domain.verified,
      infrastructure: infra?.name ?? null,
      ok: spf.ok && dkim.ok && dmarc.ok,
      spf,
      dkim,
      dmarc,
    };
  }

  /**
   * Why `target` may not take the instance yet: a verified domain of its customer with no
   * DKIM key, or whose SPF would not pass from the target's source addresses. Null: ready.
   */
  async precheck(instance: Instance, target: Infrastructure): Promise<string | null> {
    const domains = (await this.senders.listDomains()).filter((d) => d.domain.customerId === instance.customerId && d.domain.verified);
    const problems: string[] = [];
    for (const { domain } of domains) {
      const keys = (await this.senders.listKeys(domain.domain)).filter((k) => k.state === 'active');
      if (keys.length === 0 && !target.dkim.some((k) => k.domain === domain.domain)) problems.push(`${domain.domain} has no DKIM key`);
      const spf = await this.spf(domain.domain, target);
      if (!spf.ok) problems.push(spf.detail);
    }
    return problems.length === 0 ? null : `sender authentication for infrastructure ${target.name}: ${problems.join('; ')}`;
  }

  private async spf(domain: string, infra: Infrastructure): Promise<SpfCheck> {
    if (infra.sourceAddresses.length === 0) {
      return { ...unchecked(`infrastructure ${infra.name} names no source addresses; its relays' SPF is theirs to check`), ok: true };
    }
    const addresses = await Promise.all(infra.sourceAddresses.map(async (address) => ({ address, ...(await checkSpf(this.dns, domain, address)) })));
    const failing = addresses.filter((a) => a.result !== 'pass');
    if (failing.length === 0) return { ok: true, detail: `SPF of ${domain} passes for every source address of ${infra.name}`, addresses };
    const fix = infra.spfInclude
      ? `include:${infra.spfInclude} is missing`
      : `add ${failing.map((a) => `${a.address.includes(':') ? 'ip6' : 'ip4'}:${a.address}`).join(' ')}`;
    const why = failing.map((a) => `${a.address} ${a.result} (${a.detail})`).join(', ');
    return { ok: false, detail: `SPF of ${domain} does not cover ${infra.name}: ${why}; ${fix}`, addresses };
  }

  private async dkim(domain: string): Promise<DomainCheck['dkim']> {
    const keys = (await this.senders.listKeys(domain)).filter((k) => k.state !== 'retired');
    if (!keys.some((k) => k.state === 'active')) return { ok: false, detail: `${domain} has no active DKIM key (mailshift dkim add ${domain})`, records: [] };
    const records = await Promise.all(keys.map((k) => this.dkimRecord(k)));
    const bad = records.filter((r) => !r.ok);
    return {
      ok: bad.length === 0,
      detail: bad.length === 0 ? `every selector of ${domain} publishes its key` : bad.map((r) => `${r.dnsName}: ${r.detail}`).join('; '),
      records,
    };
  }

  private async dkimRecord(key: KeyInfo): Promise<DkimRecordCheck> {
    const base = { selector: key.selector, algorithm: key.algorithm, state: key.state, dnsName: key.dnsName };
    const found = await lookupTxt(this.dns, key.dnsName);
    if (!found.ok) return { ...base, ok: false, detail: found.error.detail };
    const published = found.value.map((r) => tags(r).get('p')?.replace(/\s+/g, '')).filter((p) => p !== undefined);
    const expected = tags(key.dnsValue).get('p') ?? '';
    if (published.length === 0) return { ...base, ok: false, detail: 'no DKIM record published' };
    if (!published.includes(expected)) return { ...base, ok: false, detail: 'the published record holds a different key' };
    return { ...base, ok: true, detail: 'record matches the key' };
  }

  private async dmarc(domain: string): Promise<DmarcCheck> {
    // Without its own record, a subdomain takes its organizational domain's (approximated as the last two labels).
    const names = [`_dmarc.${domain}`, `_dmarc.${domain.split('.').slice(-2).join('.')}`];
    for (const name of new Set(names)) {
      const found = await lookupTxt(this.dns, name);
      if (!found.ok) return { ok: false, detail: `${name}: ${found.error.detail}`, record: null, policy: null };
      const record = found.value.find((r) => /^v=DMARC1\s*(;|$)/i.test(r));
      if (!record) continue;
      const t = tags(record);
      const policy = t.get('p') ?? null;
      if (!policy || !['none', 'quarantine', 'reject'].includes(policy.toLowerCase())) {
        return { ok: false, detail: `${name}: the DMARC record has no valid p= policy`, record, policy };
      }
      // DKIM signs with d=<domain>: aligned for From at the domain, and for subdomains unless adkim=s.
      const strict = t.get('adkim')?.toLowerCase() === 's';
      const alignment = strict ? `strict DKIM alignment: From must be exactly ${domain}` : `DKIM d=${domain} aligns with From at ${domain} and below`;
      return { ok: true, detail: `${name}: p=${policy}; ${alignment}`, record, policy };
    }
    return { ok: false, detail: `no DMARC record at ${names[0]} (receivers such as Gmail require one for bulk mail)`, record: null, policy: null };
  }
}

function unchecked(detail: string): SpfCheck {
  return { ok: false, detail, addresses: [] };
}

function tags(record: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of record.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return out;
}
