import { fail, ok, type Result } from '../errors.ts';
import { parseRate } from '../delivery/throttle.ts';
import { parseIp } from '../net/ip-address.ts';
import {
  environments,
  productLines,
  tlsPolicies,
  type Contact,
  type DkimKey,
  type Environment,
  type ProductLine,
  type Relay,
  type ShapingRule,
  type TlsPolicy,
} from './fleet.ts';

const namePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export function validateName(kind: string, name: unknown): Result<string> {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    return fail('invalid-request', `${kind} name must be 1-63 letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  }
  return ok(name);
}

/** "host:port", "[v6]:port"; port defaults to 25. */
export function parseRelay(text: string): Result<Relay> {
  const m = /^\[([0-9a-f:.]+)\](?::(\d+))?$/i.exec(text) ?? /^([a-z0-9.-]+)(?::(\d+))?$/i.exec(text);
  if (!m) return fail('invalid-request', `relay must be HOST:PORT, got "${text}"`);
  const port = m[2] === undefined ? 25 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail('invalid-request', `relay port out of range in "${text}"`);
  return ok({ host: m[1], port });
}

export function formatRelay(relay: Relay): string {
  return relay.host.includes(':') ? `[${relay.host}]:${relay.port}` : `${relay.host}:${relay.port}`;
}

// Local part: printable ASCII or UTF-8 (RFC 6531) without the characters that break an
// envelope or a header; never controls or NUL, nor a lone surrogate
// (which no store can keep as written).
const localPart = /^[^\s@<>()",;:\\[\]\p{Cc}\p{Cf}\p{Cs}]{1,64}$/u;
// Labels of letters, digits and hyphens, in any script (IDN U-labels as well as A-labels).
const label = /^[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?$/u;
const ipLiteral = /^\[(?:IPv6:([0-9a-f:.]+)|(\d{1,3}(?:\.\d{1,3}){3}))\]$/i;

/**
 * A bare mailbox address (local@domain); no display names, no line breaks, no controls.
 * The domain is a name of at least two labels (so not `localhost` or an intranet's single
 * label), possibly internationalised, or an address literal in brackets (`[192.0.2.1]`,
 * `[IPv6:2001:db8::1]`) — never a bare IP, which reads like a name but routes like a literal.
 */
export function validateAddress(address: unknown): Result<string> {
  const bad = () => fail<string>('invalid-address', `not a valid email address: ${JSON.stringify(address)}`);
  if (typeof address !== 'string' || address.length > 320) return bad();
  const at = address.lastIndexOf('@');
  if (at <= 0 || !localPart.test(address.slice(0, at))) return bad();
  const domain = address.slice(at + 1);
  const literal = ipLiteral.exec(domain);
  if (literal) {
    const ip = parseIp(literal[1] ?? literal[2]);
    return ip && ip.family === (literal[1] ? 6 : 4) ? ok(address) : bad();
  }
  const labels = domain.split('.');
  if (domain.length > 253 || !labels.every((l) => label.test(l))) return bad();
  if (labels.length < 2) return fail('invalid-address', `${JSON.stringify(address)}: the domain must be a fully qualified name, not ${JSON.stringify(domain)}`);
  if (labels.every((l) => /^\d+$/.test(l)))
    return fail('invalid-address', `${JSON.stringify(address)}: an IP address as domain must be written in brackets, as [${domain}]`);
  return ok(address);
}

/** The literal address of a bracketed domain (`[192.0.2.1]`), or null for a name. */
export function addressLiteral(domain: string): string | null {
  const m = ipLiteral.exec(domain);
  return m ? (m[1] ?? m[2]) : null;
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export function validateProductLine(value: unknown): Result<ProductLine> {
  return (productLines as readonly unknown[]).includes(value)
    ? ok(value as ProductLine)
    : fail('invalid-request', `product line must be one of ${productLines.join(', ')}, got ${JSON.stringify(value)}`);
}

export function validateEnvironment(value: unknown): Result<Environment> {
  return (environments as readonly unknown[]).includes(value)
    ? ok(value as Environment)
    : fail('invalid-request', `environment must be one of ${environments.join(', ')}, got ${JSON.stringify(value)}`);
}

export function validateContact(input: { email?: unknown; locale?: unknown; timezone?: unknown }, isValidZone: (z: string) => boolean): Result<Contact> {
  const email = validateAddress(input.email);
  if (!email.ok) return email;
  const locale = input.locale ?? 'en';
  if (typeof locale !== 'string' || !/^[a-z]{2}(-[A-Z]{2})?$/.test(locale))
    return fail('invalid-request', `locale must look like "en" or "es-ES", got ${JSON.stringify(locale)}`);
  const timezone = input.timezone ?? 'UTC';
  if (typeof timezone !== 'string' || !isValidZone(timezone)) return fail('invalid-request', `unknown time zone ${JSON.stringify(timezone)}`);
  return ok({ email: email.value, locale, timezone });
}

export function validateShaping(input: unknown): Result<ShapingRule[]> {
  if (!Array.isArray(input)) return fail('invalid-request', 'shaping must be a list of rules');
  const rules: ShapingRule[] = [];
  for (const raw of input as Record<string, unknown>[]) {
    const domain = raw?.domain;
    if (typeof domain !== 'string' || domain.length === 0) return fail('invalid-request', 'each shaping rule needs a domain ("*" for the default)');
    const maxConnections = raw.maxConnections ?? 10;
    const maxMessagesPerConnection = raw.maxMessagesPerConnection ?? 100;
    if (!Number.isInteger(maxConnections) || (maxConnections as number) < 1)
      return fail('invalid-request', `maxConnections for ${domain} must be a positive integer`);
    if (!Number.isInteger(maxMessagesPerConnection) || (maxMessagesPerConnection as number) < 1)
      return fail('invalid-request', `maxMessagesPerConnection for ${domain} must be a positive integer`);
    const rate = raw.rate ?? null;
    if (rate !== null) {
      if (typeof rate !== 'string') return fail('invalid-request', `rate for ${domain} must be a string like "100/s"`);
      const parsed = parseRate(rate);
      if (!parsed.ok) return fail('invalid-request', `rate for ${domain}: ${parsed.error}`);
    }
    const tls = raw.tls === undefined ? undefined : validateTlsPolicy(raw.tls, `tls for ${domain}`);
    if (tls && !tls.ok) return tls;
    rules.push({
      domain,
      maxConnections: maxConnections as number,
      maxMessagesPerConnection: maxMessagesPerConnection as number,
      rate: rate as string | null,
      ...(tls ? { tls: tls.value } : {}),
    });
  }
  return ok(rules);
}

export function validateDkim(input: unknown): Result<DkimKey[]> {
  if (!Array.isArray(input)) return fail('invalid-request', 'dkim must be a list of {domain, selector, privateKey}');
  const keys: DkimKey[] = [];
  for (const raw of input as Record<string, unknown>[]) {
    const { domain, selector, privateKey } = raw ?? {};
    if (typeof domain !== 'string' || typeof selector !== 'string' || typeof privateKey !== 'string' || !privateKey.includes('PRIVATE KEY')) {
      return fail('invalid-request', 'each DKIM key needs domain, selector and a PEM privateKey');
    }
    keys.push({ domain: domain.toLowerCase(), selector, privateKey });
  }
  return ok(keys);
}

export function validateTlsPolicy(value: unknown, field = 'tls'): Result<TlsPolicy> {
  return (tlsPolicies as readonly unknown[]).includes(value)
    ? ok(value as TlsPolicy)
    : fail('invalid-request', `${field} must be one of ${tlsPolicies.join(', ')}, got ${JSON.stringify(value)}`);
}

export function validatePort(value: unknown, field: string): Result<number> {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535
    ? ok(value as number)
    : fail('invalid-request', `${field} must be a port number (1-65535), got ${JSON.stringify(value)}`);
}

/** A relay as given: "HOST:PORT", or `{address, secure?, user?, password?}` for one that needs TLS from the start or a login. */
export interface RelaySpec {
  relay: Relay;
  login?: { user: string; password: string };
}

const loginText = /^[^\p{Cc}]{1,256}$/u;

export function parseRelaySpec(input: unknown): Result<RelaySpec> {
  if (typeof input === 'string') {
    const relay = parseRelay(input);
    return relay.ok ? ok({ relay: relay.value }) : relay;
  }
  if (typeof input !== 'object' || input === null) return fail('invalid-request', 'each relay must be "HOST:PORT" or {address, secure, user, password}');
  const { address, secure, user, password } = input as Record<string, unknown>;
  if (typeof address !== 'string') return fail('invalid-request', 'a relay needs its address as "HOST:PORT"');
  const relay = parseRelay(address);
  if (!relay.ok) return relay;
  if (secure !== undefined && typeof secure !== 'boolean') return fail('invalid-request', `secure for relay ${address} must be true or false`);
  if ((user === undefined) !== (password === undefined)) return fail('invalid-request', `relay ${address}: a login needs both user and password`);
  const spec: RelaySpec = { relay: { ...relay.value, ...(secure ? { secure: true } : {}) } };
  if (user === undefined) return ok(spec);
  if (typeof user !== 'string' || !loginText.test(user)) return fail('invalid-request', `relay ${address}: user must be 1-256 characters without controls`);
  // The password itself is never echoed in an error.
  if (typeof password !== 'string' || !loginText.test(password))
    return fail('invalid-request', `relay ${address}: password must be 1-256 characters without controls`);
  return ok({ ...spec, login: { user, password } });
}

/**
 * A bounce domain: a host name of at least two labels, ASCII (it is written into envelope
 * senders), lower-cased. Its MX must point at mailshift's feedback listener.
 */
export function validateBounceDomain(input: unknown): Result<string | null> {
  if (input === undefined || input === null || input === '') return ok(null);
  const bad = () => fail<string | null>('invalid-request', `bounceDomain must be a domain name such as bounces.example.net, got ${JSON.stringify(input)}`);
  if (typeof input !== 'string' || input.length > 200) return bad();
  const domain = input.toLowerCase();
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) || /^\d+$/.test(labels[labels.length - 1])) return bad();
  return ok(domain);
}
