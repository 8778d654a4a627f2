import { resolve4, resolve6, resolveMx } from 'node:dns/promises';
import { domainToASCII } from 'node:url';
import type { BounceCategory, SmtpReply } from '../core/delivery/bounce-rules.ts';
import type { Infrastructure, Relay, TlsPolicy } from '../core/fleet/fleet.ts';
import { addressLiteral } from '../core/fleet/fleet-input.ts';
import { mayConnect, parseIp, type Network } from '../core/net/ip-address.ts';

/** The DNS look-ups direct-MX delivery makes; tests pass their own instead of real DNS. */
export interface MxResolver {
  resolveMx(domain: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

export const systemResolver: MxResolver = { resolveMx, resolve4, resolve6 };

export interface RoutePolicy {
  resolver: MxResolver;
  /** Reserved networks (loopback, private…) that MX delivery may still reach: the operator's choice. */
  allowNetworks: readonly Network[];
  /** 25, except in tests whose receivers cannot bind it. */
  mxPort: number;
  /** How long the look-ups of one route may take in all before the delivery is deferred (default 5 s). */
  lookupTimeoutMs?: number;
  /** Orders MX hosts of equal preference (default Math.random); tests pass their own. */
  random?: () => number;
}

export const defaultLookupTimeoutMs = 5_000;

/** A next hop; `servername` is the MX host's name when `host` is the address it resolved to (TLS SNI). */
export type Hop = Relay & { servername?: string };

export type Route =
  /** `tls`: a policy the domain itself asks for (MTA-STS), over the infrastructure's and its rules'. */
  | { ok: true; hosts: Hop[]; tls?: TlsPolicy }
  /**
   * `permanent`: the delivery bounces at once (a refused address, a null MX, a domain that
   * does not exist), as `category` says, its recipient suppressed when `suppress`; else it is deferred.
   */
  | { ok: false; permanent: boolean; reply: SmtpReply; category?: BounceCategory; suppress?: boolean };

/** What a tenant sees when its recipient points inward: nothing about the address or what answers there. */
export const notPermitted: SmtpReply = { code: 550, enhanced: '5.7.1', text: '550 5.7.1 destination address not permitted' };
const nullMx: SmtpReply = { code: 556, enhanced: '5.1.10', text: '556 5.1.10 the recipient domain accepts no mail (null MX)' };
const noSuchDomain = (name: string): SmtpReply => ({ code: 550, enhanced: '5.1.2', text: `550 5.1.2 the recipient domain ${name} does not exist (NXDOMAIN)` });

/** Most addresses tried for one destination before it counts as unreachable. */
const maxHops = 5;

/**
 * Where mail for `domain` goes through `infra`. Relay mode: its relays in turn (the
 * operator chose them). MX mode: the domain's MX hosts by preference (or the domain
 * itself, RFC 5321 §5.1), resolved here to addresses so that what is checked is what is
 * connected to; reserved addresses only inside the allowed networks.
 */
export async function resolveRoute(infra: Infrastructure, domain: string, rotation: number, policy: RoutePolicy): Promise<Route> {
  if (infra.deliveryMode === 'relay') return { ok: true, hosts: relayHops(infra, rotation) };
  const ms = policy.lookupTimeoutMs ?? defaultLookupTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  // DNS that does not answer must not hold the destination's queue for the resolver's own
  // (long) timeouts: past `ms` the delivery is deferred, like any other DNS failure.
  const timedOut = new Promise<Route>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          permanent: false,
          reply: { code: null, enhanced: null, text: `DNS: the look-ups for ${asciiDomain(domain) || domain} took more than ${ms} ms` },
        }),
      ms,
    );
  });
  try {
    return await Promise.race([resolveMxRoute(domain, { ...policy, mxPort: infra.mxPort ?? policy.mxPort }), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** An infrastructure's relays, the `rotation`-th first. */
export function relayHops(infra: Infrastructure, rotation: number): Hop[] {
  const n = infra.relays.length;
  return infra.relays.map((_, i) => infra.relays[(i + rotation) % n]);
}

/** What health is kept by: the address and port connected to (an MX host's name plays no part). */
export function hopKey(hop: Relay): string {
  return hop.host.includes(':') ? `[${hop.host}]:${hop.port}` : `${hop.host}:${hop.port}`;
}

async function resolveMxRoute(domain: string, policy: RoutePolicy): Promise<Route> {
  const literal = addressLiteral(domain);
  if (literal !== null) {
    return mayConnect(literal, policy.allowNetworks)
      ? { ok: true, hosts: [{ host: literal, port: policy.mxPort }] }
      : { ok: false, permanent: true, reply: notPermitted };
  }
  const name = asciiDomain(domain);
  if (!name) return { ok: false, permanent: true, reply: { code: 553, enhanced: '5.1.2', text: '553 5.1.2 the recipient domain is not a valid name' } };
  let exchanges: string[];
  try {
    const mx = await policy.resolver.resolveMx(name);
    // RFC 7505: a single MX of "." says the domain takes no mail.
    if (mx.length > 0 && mx.every((r) => r.exchange === '' || r.exchange === '.'))
      return { ok: false, permanent: true, reply: nullMx, category: 'bad-domain', suppress: true };
    exchanges = mx.length === 0 ? [name] : byPreference(mx, policy.random ?? Math.random);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The domain does not exist: no later attempt will find it, so the delivery bounces now.
    if (code === 'ENOTFOUND') return { ok: false, permanent: true, reply: noSuchDomain(name), category: 'bad-domain', suppress: true };
    // No MX records: the domain itself is the implicit MX (RFC 5321 §5.1). Anything else
    // (SERVFAIL, a timeout) may pass: the delivery is deferred.
    if (code !== 'ENODATA')
      return { ok: false, permanent: false, reply: { code: null, enhanced: null, text: `DNS: MX lookup for ${name} failed (${code ?? 'error'})` } };
    exchanges = [name];
  }
  const hosts: Hop[] = [];
  let refused = 0;
  let failed = false;
  const found = await Promise.all(exchanges.map((exchange) => addressesOf(exchange, policy.resolver)));
  for (const [i, exchange] of exchanges.entries()) {
    if (found[i].failed) failed = true;
    for (const address of found[i].addresses) {
      if (!mayConnect(address, policy.allowNetworks)) {
        refused++;
        continue;
      }
      if (hosts.length < maxHops) hosts.push({ host: address, port: policy.mxPort, ...(parseIp(exchange) ? {} : { servername: exchange }) });
    }
  }
  if (hosts.length > 0) return { ok: true, hosts };
  // A host whose look-up failed may well have a public address: only when every look-up
  // answered does a reserved address mean the domain points inward.
  if (failed) return { ok: false, permanent: false, reply: { code: null, enhanced: null, text: `DNS: address look-up for the mail hosts of ${name} failed` } };
  if (refused > 0) return { ok: false, permanent: true, reply: notPermitted };
  return { ok: false, permanent: false, reply: { code: null, enhanced: null, text: `DNS: no address for the mail hosts of ${name}` } };
}

/** MX hosts by preference, those of equal preference in random order (RFC 5321 §5.1) so that load spreads over them. */
export function byPreference(mx: readonly { exchange: string; priority: number }[], random: () => number): string[] {
  const keyed = mx.map((r) => ({ r, tie: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.tie - b.tie);
  return keyed.map((k) => k.r.exchange);
}

/** A host's addresses; `failed` when a look-up neither answered nor said there is none (SERVFAIL, a timeout). */
async function addressesOf(host: string, resolver: MxResolver): Promise<{ addresses: string[]; failed: boolean }> {
  if (parseIp(host)) return { addresses: [host], failed: false };
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const failed = [v4, v6].some((r) => r.status === 'rejected' && !noSuchRecord(r.reason));
  return { addresses: [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])], failed };
}

function noSuchRecord(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENODATA' || code === 'ENOTFOUND';
}

/** An IDN domain as A-labels (punycode), as the envelope and DNS need it; '' when it is not a valid name. */
export function asciiDomain(domain: string): string {
  if (addressLiteral(domain) !== null) return domain;
  return domainToASCII(domain);
}

/**
 * The old shape, for the switch's pre-check and canary (the operator's own verification
 * address, so no address policy): the hosts, or none.
 */
export async function destinationHosts(
  infra: Infrastructure,
  domain: string,
  rotation: number,
  resolver: MxResolver = systemResolver,
  mxPort = 25,
): Promise<Relay[]> {
  if (infra.deliveryMode === 'relay') return relayHops(infra, rotation);
  const port = infra.mxPort ?? mxPort;
  try {
    const mx = await resolver.resolveMx(asciiDomain(domain));
    if (mx.length === 0) return [{ host: domain, port }];
    return byPreference(mx, Math.random).map((host) => ({ host, port }));
  } catch {
    return [{ host: domain, port }];
  }
}
