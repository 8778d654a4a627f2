import { inNetwork, parseIp, parseNetwork, type IpAddress } from '../core/net/ip-address.ts';
import { lookupTxt, type TxtLookup } from './sender-domains.ts';

/** The look-ups SPF needs, declared here so the app layer does not import the engine's resolver. */
export interface SpfLookup extends TxtLookup {
  resolveMx(domain: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface SpfVerdict {
  result: SpfResult;
  /** Which term decided, or why none could. */
  detail: string;
}

/** RFC 7208 §4.6.4: at most 10 terms that cause DNS look-ups, across includes and redirects. */
const maxLookups = 10;
/** §4.6.4: at most 10 MX names looked up per `mx` term. */
const maxMxNames = 10;

const qualifiers: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

class SpfError extends Error {
  constructor(
    readonly result: 'permerror' | 'temperror',
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a receiver's SPF check (RFC 7208 check_host) would answer for mail from `ip` with
 * `domain` in MAIL FROM: ip4, ip6, a, mx, include, exists, all and redirect, recursively,
 * within the look-up limit. Macros and `ptr` are not expanded (they never match here).
 */
export async function checkSpf(dns: SpfLookup, domain: string, address: string): Promise<SpfVerdict> {
  const ip = parseIp(address);
  if (!ip) return { result: 'permerror', detail: `${address} is not an IP address` };
  const state = { lookups: 0 };
  try {
    return await checkHost(dns, domain, ip, state);
  } catch (err) {
    if (err instanceof SpfError) return { result: err.result, detail: err.message };
    throw err;
  }
}

async function checkHost(dns: SpfLookup, domain: string, ip: IpAddress, state: { lookups: number }): Promise<SpfVerdict> {
  const records = await txt(dns, domain);
  const spf = records.filter((r) => /^v=spf1(\s|$)/i.test(r));
  if (spf.length === 0) return { result: 'none', detail: `${domain} publishes no SPF record` };
  if (spf.length > 1) throw new SpfError('permerror', `${domain} publishes ${spf.length} SPF records; exactly one is allowed`);
  const terms = spf[0].split(/\s+/).slice(1).filter(Boolean);
  let redirect: string | undefined;
  for (const term of terms) {
    const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(term);
    if (modifier) {
      if (modifier[1].toLowerCase() === 'redirect') redirect = modifier[2];
      continue;
    }
    const m = /^([+\-~?]?)([a-z0-9]+)(?::([^/]*))?(\/.*)?$/i.exec(term);
    if (!m) throw new SpfError('permerror', `${domain}: unknown SPF term "${term}"`);
    const result = qualifiers[m[1] || '+'];
    const mechanism = m[2].toLowerCase();
    const target = m[3] || domain;
    if (await matches(dns, mechanism, target, m[4] ?? '', ip, state, domain, term)) return { result, detail: `${domain}: "${term}"` };
  }
  if (redirect !== undefined) {
    count(state, domain);
    const next = await checkHost(dns, redirect, ip, state);
    if (next.result === 'none') throw new SpfError('permerror', `${domain}: redirect=${redirect} has no SPF record`);
    return next;
  }
  return { result: 'neutral', detail: `${domain}: no term matches` };
}

async function matches(
  dns: SpfLookup,
  mechanism: string,
  target: string,
  cidr: string,
  ip: IpAddress,
  state: { lookups: number },
  domain: string,
  term: string,
): Promise<boolean> {
  if (target.includes('%')) {
    if (['a', 'mx', 'include', 'exists', 'ptr'].includes(mechanism)) count(state, domain);
    return false;
  }
  switch (mechanism) {
    case 'all':
      return true;
    case 'ip4':
    case 'ip6': {
      const net = parseNetwork(`${target}${cidr}`);
      if (!net || net.family !== (mechanism === 'ip4' ? 4 : 6)) throw new SpfError('permerror', `${domain}: bad network in "${term}"`);
      return inNetwork(ip, net);
    }
    case 'a':
      count(state, domain);
      return anyAddress(dns, [target], cidr, ip);
    case 'mx': {
      count(state, domain);
      const hosts = (await lookup(() => dns.resolveMx(target), [])).map((mx) => mx.exchange);
      if (hosts.length > maxMxNames) throw new SpfError('permerror', `${target}: more than ${maxMxNames} MX names`);
      return anyAddress(dns, hosts, cidr, ip);
    }
    case 'include': {
      count(state, domain);
      const inner = await checkHost(dns, target, ip, state);
      if (inner.result === 'none') throw new SpfError('permerror', `${domain}: include:${target} has no SPF record`);
      return inner.result === 'pass';
    }
    case 'exists':
      count(state, domain);
      return (await lookup(() => dns.resolve4(target), [])).length > 0;
    case 'ptr':
      count(state, domain);
      return false;
    default:
      throw new SpfError('permerror', `${domain}: unknown mechanism "${mechanism}"`);
  }
}

async function anyAddress(dns: SpfLookup, hosts: string[], cidr: string, ip: IpAddress): Promise<boolean> {
  const m = /^(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(cidr);
  if (!m) throw new SpfError('permerror', `bad prefix length "${cidr}"`);
  const prefix = ip.family === 4 ? m[1] : m[2];
  for (const host of hosts) {
    const addresses = await lookup(() => (ip.family === 4 ? dns.resolve4(host) : dns.resolve6(host)), []);
    for (const a of addresses) {
      const net = parseNetwork(prefix ? `${a}/${prefix}` : a);
      if (net && inNetwork(ip, net)) return true;
    }
  }
  return false;
}

function count(state: { lookups: number }, domain: string): void {
  state.lookups++;
  if (state.lookups > maxLookups) throw new SpfError('permerror', `${domain}: more than ${maxLookups} DNS look-ups (RFC 7208 §4.6.4)`);
}

async function txt(dns: SpfLookup, name: string): Promise<string[]> {
  const found = await lookupTxt(dns, name);
  if (!found.ok) throw new SpfError('temperror', `${name}: ${found.error.detail}`);
  return found.value;
}

/** NXDOMAIN or no data is an empty answer; anything else is a temporary error. */
async function lookup<T>(query: () => Promise<T>, empty: T): Promise<T> {
  try {
    return await query();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return empty;
    throw new SpfError('temperror', `DNS look-up failed (${code ?? 'error'})`);
  }
}
