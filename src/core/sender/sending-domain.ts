import { fail, ok, type Result } from '../errors.ts';
import { checkMessage, headerValue } from '../spool/message-check.ts';

export const dkimAlgorithms = ['rsa', 'ed25519'] as const;
export type DkimAlgorithm = (typeof dkimAlgorithms)[number];

/** What an infrastructure does with mail whose From domain its customer has not verified. */
export const unverifiedFromPolicies = ['unsigned', 'refuse'] as const;
export type UnverifiedFromPolicy = (typeof unverifiedFromPolicies)[number];

/** A domain a customer sends as: signed with its keys only once verified (DNS token or operator). */
export interface SendingDomain {
  id: number;
  customerId: number;
  domain: string;
  verified: boolean;
  /** The value of the TXT record at `verificationName(domain)` that proves ownership. */
  verifyToken: string;
  verifiedAt: number | null;
  createdAt: number;
}

/** A DKIM key of a sending domain; the private key is sealed at rest. */
export interface DomainKey {
  id: number;
  domainId: number;
  selector: string;
  algorithm: DkimAlgorithm;
  /** The `p=` value of the DNS record (base64). */
  publicKey: string;
  createdAt: number;
  /** Set by a rotation: until then the key still verifies (its record stays needed), it no longer signs. */
  retireAt: number | null;
}

/** `active` signs; `retiring` no longer signs but its DNS record must stay; `retired` may be removed from DNS. */
export type KeyState = 'active' | 'retiring' | 'retired';

export function keyState(key: Pick<DomainKey, 'retireAt'>, now: number): KeyState {
  if (key.retireAt === null) return 'active';
  return key.retireAt > now ? 'retiring' : 'retired';
}

export function verificationName(domain: string): string {
  return `_mailshift.${domain}`;
}

export function verificationValue(token: string): string {
  return `mailshift-verification=${token}`;
}

export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

export function dkimRecordValue(algorithm: DkimAlgorithm, publicKey: string): string {
  return `v=DKIM1; k=${algorithm}; p=${publicKey}`;
}

const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A domain name in A-label form, lower case, with at least two labels. */
export function validateDomainName(input: unknown): Result<string> {
  if (typeof input !== 'string') return fail('invalid-request', 'domain must be a string');
  const domain = input.trim().toLowerCase().replace(/\.$/, '');
  const labels = domain.split('.');
  if (domain.length > 253 || labels.length < 2 || !labels.every((l) => label.test(l))) {
    return fail('invalid-request', `"${input}" is not a domain name (letters, digits and '-' per label, at least two labels)`);
  }
  return ok(domain);
}

/** An SPF include target: a host name whose labels may start with '_' (`_spf.example.net`). */
export function validateSpfInclude(input: unknown): Result<string> {
  if (typeof input !== 'string' || input.length > 253 || !/^([a-z0-9_](?:[a-z0-9_-]{0,62})\.)+[a-z0-9-]{1,63}$/i.test(input)) {
    return fail('invalid-request', 'spfInclude must be a host name such as _spf.example.net');
  }
  return ok(input.toLowerCase());
}

export function validateSelector(input: unknown): Result<string> {
  if (typeof input !== 'string' || !/^(?!-)[a-z0-9-]{1,63}(?<!-)$/i.test(input)) {
    return fail('invalid-request', "a DKIM selector is one DNS label: letters, digits and '-'");
  }
  return ok(input.toLowerCase());
}

export function validateAlgorithm(input: unknown): Result<DkimAlgorithm> {
  const value = input ?? 'rsa';
  if (!(dkimAlgorithms as readonly unknown[]).includes(value)) return fail('invalid-request', 'algorithm must be "rsa" or "ed25519"');
  return ok(value as DkimAlgorithm);
}

export function validateUnverifiedFrom(input: unknown): Result<UnverifiedFromPolicy> {
  const value = input ?? 'unsigned';
  if (!(unverifiedFromPolicies as readonly unknown[]).includes(value)) return fail('invalid-request', 'unverifiedFrom must be "unsigned" or "refuse"');
  return ok(value as UnverifiedFromPolicy);
}

/** The domain of the (last) address in the message's From field, lower case; null when it has none. */
export function fromDomain(raw: Buffer): string | null {
  const checked = checkMessage(raw);
  if (!checked.ok) return null;
  const from = headerValue(checked.value.headers, 'from') ?? '';
  const m = /@([a-z0-9.-]+)\s*>?\s*$/i.exec(from);
  return m ? m[1].toLowerCase().replace(/\.$/, '') : null;
}

/** The domain of `domains` that is the From domain or one of its parents (the closest), if any. */
export function owningDomain<D extends { domain: string }>(domains: readonly D[], from: string): D | undefined {
  const labels = from.toLowerCase().split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const found = domains.find((d) => d.domain === labels.slice(i).join('.'));
    if (found) return found;
  }
  return undefined;
}
