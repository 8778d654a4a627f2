import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { AttemptLimiter, defaultAccountPolicy, defaultSourcePolicy, type LimiterPolicy, type LimitVerdict } from '../core/auth/attempt-limiter.ts';
import type { Metrics } from '../metrics.ts';

/** Where a credential is presented. */
export type Door = 'smtp' | 'api' | 'admin' | 'console';

export interface AuthGuardOptions {
  source?: LimiterPolicy;
  account?: LimiterPolicy;
}

/**
 * Brute-force protection shared by every door: failures are counted per source address
 * and per account (an SMTP user name, an API key's lookup id, the admin token), and a
 * locked key is refused before its credential is even checked. Failures are logged —
 * the source and the account, never the secret — and counted in `/metrics`.
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
    if (account !== null) {
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

/** IPv4-mapped IPv6 and plain IPv4 count as one source. */
function sourceKey(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.)/i, '');
}
