import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { AttemptLimiter, defaultAccountPolicy, defaultSourcePolicy, type LimiterPolicy, type LimitVerdict } from '../core/auth/attempt-limiter.ts';
import type { Metrics } from '../metrics.ts';
import { parseIp, unwrapIpv4 } from '../core/net/ip-address.ts';

/** Where a credential is presented. */
export type Door = 'smtp' | 'api' | 'admin' | 'console';

export interface AuthGuardOptions {
  source?: LimiterPolicy;
  account?: LimiterPolicy;
}

/**
 * Brute-force protection shared by every door: failures are counted per source (an IPv4
 * address, an IPv6 /64) and per account (an SMTP user name, an API key's lookup id, the
 * admin token), and a locked key is refused before its credential is even checked. An
 * account's lock holds only against sources that have failed themselves: guessers spread
 * over many addresses are stopped, while the account's owner, from an address that never
 * failed, still gets in — otherwise anyone knowing an instance's name could lock it out.
 * Failures are logged (the source and the account, never the secret) and counted.
 */
export class AuthGuard {
  private readonly sources: AttemptLimiter;
  private readonly accounts: AttemptLimiter;

  constructor(
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    options: AuthGuardOptions = {},
  ) {
    this.sources = new AttemptLimiter(options.source ?? defaultSourcePolicy);
    this.accounts = new AttemptLimiter(options.account ?? defaultAccountPolicy);
  }

  /** Before checking a credential: may this source try this account now? */
  admit(door: Door, source: string, account: string | null): LimitVerdict {
    const now = this.clock.now();
    const bySource = this.sources.check(sourceKey(source), now);
    if (!bySource.allowed) {
      this.metrics.authRefused.inc({ door, scope: 'source' });
      return bySource;
    }
    if (account !== null && this.sources.failing(sourceKey(source), now)) {
      const byAccount = this.accounts.check(`${door}:${account}`, now);
      if (!byAccount.allowed) {
        this.metrics.authRefused.inc({ door, scope: 'account' });
        return byAccount;
      }
    }
    return { allowed: true };
  }

  /** A wrong credential: counted against both keys; the verdict says whether the next try may come. */
  failed(door: Door, source: string, account: string | null): LimitVerdict {
    const now = this.clock.now();
    this.metrics.authFailures.inc({ door });
    const bySource = this.sources.failure(sourceKey(source), now);
    const byAccount = account === null ? ({ allowed: true } as const) : this.accounts.failure(`${door}:${account}`, now);
    const locked = !bySource.allowed ? bySource : byAccount;
    this.log.warn({ door, source, account, locked: !locked.allowed }, 'authentication failed');
    return locked;
  }

  succeeded(door: Door, account: string): void {
    this.accounts.success(`${door}:${account}`, this.clock.now());
  }
}

/**
 * IPv4-mapped IPv6 and plain IPv4 count as one source; an IPv6 source is its /64, which
 * one host usually has whole (counting single addresses, it could try forever).
 */
function sourceKey(address: string): string {
  const ip = parseIp(address);
  if (!ip) return address;
  const plain = unwrapIpv4(ip);
  if (plain.family === 4) return `v4:${plain.value.toString(16)}`;
  return `v6:${(plain.value >> 64n).toString(16)}::/64`;
}
