import { Resolver } from 'node:dns/promises';
import type { MxResolver } from './routes.ts';

/** Every DNS look-up mailshift makes: MX routes, and TXT records for domain checks. */
export interface DnsResolver extends MxResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

/**
 * A resolver over the operator's servers (`MAILSHIFT_DNS_SERVERS`, `host:port` each), or the
 * system's when none are given. Each query is tried once per server with a short timeout:
 * the callers bound the whole look-up themselves and defer what does not answer.
 */
export function createDnsResolver(servers: readonly string[]): DnsResolver {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return {
    resolveMx: (domain) => resolver.resolveMx(domain),
    resolve4: (host) => resolver.resolve4(host),
    resolve6: (host) => resolver.resolve6(host),
    resolveTxt: (name) => resolver.resolveTxt(name),
  };
}
