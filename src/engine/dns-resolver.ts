import { Resolver } from 'node:dns/promises';
import type { Clock } from '../core/clock.ts';
import type { MxResolver } from './routes.ts';

/** Every DNS look-up mailshift makes: MX routes, and TXT records for domain checks. */
export interface DnsResolver extends MxResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

export interface DnsCachePolicy {
  /** Most answers kept; the oldest goes first. */
  maxEntries: number;
  /** Longest an address answer is kept, whatever its TTL. */
  maxTtlMs: number;
  /**
   * How long MX and TXT answers are kept: node's resolver gives TTLs only for A and AAAA,
   * so these get a short fixed one, below the TTL of nearly every published record.
   */
  fixedTtlMs: number;
  /** How long "no such name" and "no such record" are kept (RFC 2308 negative caching, kept brief). */
  negativeTtlMs: number;
}

export const defaultDnsCachePolicy: DnsCachePolicy = { maxEntries: 10_000, maxTtlMs: 3_600_000, fixedTtlMs: 300_000, negativeTtlMs: 60_000 };

type Answer = { ok: true; value: unknown } | { ok: false; error: Error };

/**
 * A resolver over the operator's servers (`MAILSHIFT_DNS_SERVERS`, `host:port` each), or the
 * system's when none are given, with a cache bounded in size: address answers are kept for
 * their TTL, MX and TXT answers for a fixed short time, NXDOMAIN and NODATA briefly.
 * Failures (SERVFAIL, a timeout) are not kept: the next look-up asks again. Each query is
 * tried once per server with a short timeout: the callers bound the whole look-up
 * themselves and defer what does not answer.
 */
export function createDnsResolver(servers: readonly string[], clock: Clock, policy: DnsCachePolicy = defaultDnsCachePolicy): DnsResolver {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  if (servers.length > 0) resolver.setServers([...servers]);
  const cache = new DnsCache(clock, policy);
  const addresses = (family: 4 | 6) => async (host: string) => {
    const records = family === 4 ? await resolver.resolve4(host, { ttl: true }) : await resolver.resolve6(host, { ttl: true });
    const ttl = Math.min(...records.map((r) => r.ttl)) * 1000;
    return { value: records.map((r) => r.address), ttlMs: Number.isFinite(ttl) ? ttl : policy.fixedTtlMs };
  };
  const fixed =
    <T>(look: (name: string) => Promise<T>) =>
    async (name: string) => ({ value: await look(name), ttlMs: policy.fixedTtlMs });
  return {
    resolveMx: (domain) =>
      cache.get(
        'MX',
        domain,
        fixed((d) => resolver.resolveMx(d)),
      ),
    resolve4: (host) => cache.get('A', host, addresses(4)),
    resolve6: (host) => cache.get('AAAA', host, addresses(6)),
    resolveTxt: (name) =>
      cache.get(
        'TXT',
        name,
        fixed((n) => resolver.resolveTxt(n)),
      ),
  };
}

/** Answers by type and name until they expire; look-ups of the same question in progress are shared. */
export class DnsCache {
  private readonly answers = new Map<string, { answer: Answer; expires: number }>();
  private readonly pending = new Map<string, Promise<Answer>>();

  constructor(
    private readonly clock: Clock,
    private readonly policy: DnsCachePolicy,
  ) {}

  async get<T>(type: string, name: string, look: (name: string) => Promise<{ value: T; ttlMs: number }>): Promise<T> {
    const key = `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
    const kept = this.answers.get(key);
    let answer: Answer;
    if (kept && this.clock.now() < kept.expires) {
      answer = kept.answer;
    } else {
      let asking = this.pending.get(key);
      if (!asking) {
        asking = this.ask(key, name, look).finally(() => this.pending.delete(key));
        this.pending.set(key, asking);
      }
      answer = await asking;
    }
    if (!answer.ok) throw answer.error;
    return answer.value as T;
  }

  get size(): number {
    return this.answers.size;
  }

  private async ask<T>(key: string, name: string, look: (name: string) => Promise<{ value: T; ttlMs: number }>): Promise<Answer> {
    let answer: Answer;
    let ttlMs: number;
    try {
      const found = await look(name);
      answer = { ok: true, value: found.value };
      ttlMs = Math.min(found.ttlMs, this.policy.maxTtlMs);
    } catch (err) {
      answer = { ok: false, error: err as Error };
      const code = (err as NodeJS.ErrnoException).code;
      ttlMs = code === 'ENOTFOUND' || code === 'ENODATA' ? this.policy.negativeTtlMs : 0;
    }
    this.answers.delete(key);
    if (ttlMs > 0) {
      this.answers.set(key, { answer, expires: this.clock.now() + ttlMs });
      // Insertion order is age order: past the bound, the oldest answers go.
      for (const oldest of this.answers.keys()) {
        if (this.answers.size <= this.policy.maxEntries) break;
        this.answers.delete(oldest);
      }
    }
    return answer;
  }
}
