import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Clock } from '../core/clock.ts';
import { parseStsPolicy, parseStsRecord, type MtaStsPolicy } from '../core/delivery/mta-sts.ts';
import { mayConnect, type Network } from '../core/net/ip-address.ts';
import type { DnsResolver } from './dns-resolver.ts';

export interface MtaStsOptions {
  /** Reserved networks the policy host may still be in (the MX delivery's allow list). */
  allowNetworks: readonly Network[];
  /** PEM certificates trusted besides the system's roots. */
  ca?: string;
  /** 443, except in tests whose servers cannot bind it. */
  port?: number;
  timeoutMs?: number;
  maxEntries?: number;
}

/** RFC 8461 §3.3: a policy file is small; more than this is refused. */
const maxPolicyBytes = 64 * 1024;

interface Kept {
  id: string;
  policy: MtaStsPolicy;
  expires: number;
}

/**
 * MTA-STS policies of recipient domains (RFC 8461): the `_mta-sts` TXT record says whether
 * there is one and its id; the policy itself comes over HTTPS from `mta-sts.<domain>` with
 * a certificate that must verify, and is kept for its max_age (bounded in number), fetched
 * again when the id changes. A domain whose policy cannot be had now keeps the one it had
 * (§5.1); with none, there is no policy (delivery as usual).
 */
export class MtaStsFetcher {
  private readonly kept = new Map<string, Kept>();
  private readonly pending = new Map<string, Promise<MtaStsPolicy | null>>();

  constructor(
    private readonly resolver: DnsResolver,
    private readonly clock: Clock,
    private readonly options: MtaStsOptions,
  ) {}

  /** The domain's policy now, or null when it has none (or none could be had). */
  policy(domain: string): Promise<MtaStsPolicy | null> {
    const name = domain.toLowerCase();
    let asking = this.pending.get(name);
    if (!asking) {
      asking = this.lookUp(name).finally(() => this.pending.delete(name));
      this.pending.set(name, asking);
    }
    return asking;
  }

  private async lookUp(domain: string): Promise<MtaStsPolicy | null> {
    const now = this.clock.now();
    const kept = this.kept.get(domain);
    const current = kept && now < kept.expires ? kept : undefined;
    let id: string;
    try {
      const record = parseStsRecord(await this.resolver.resolveTxt(`_mta-sts.${domain}`));
      if (!record.ok) return current?.policy ?? null;
      id = record.value.id;
    } catch {
      return current?.policy ?? null;
    }
    if (current && current.id === id) return current.policy;
    const fetched = await this.fetch(domain).catch(() => null);
    if (!fetched) return current?.policy ?? null;
    this.kept.delete(domain);
    this.kept.set(domain, { id, policy: fetched, expires: now + fetched.maxAgeS * 1000 });
    for (const oldest of this.kept.keys()) {
      if (this.kept.size <= (this.options.maxEntries ?? 10_000)) break;
      this.kept.delete(oldest);
    }
    return fetched;
  }

  /** GET https://mta-sts.<domain>/.well-known/mta-sts.txt: 200, text/plain, no redirect, a verified certificate. */
  private async fetch(domain: string): Promise<MtaStsPolicy | null> {
    const host = `mta-sts.${domain}`;
    const address = (await this.resolver.resolve4(host))[0];
    if (!address || !mayConnect(address, this.options.allowNetworks)) return null;
    const text = await new Promise<string | null>((resolve) => {
      const req = request(
        {
          host: address,
          servername: host,
          port: this.options.port ?? 443,
          path: '/.well-known/mta-sts.txt',
          headers: { host },
          rejectUnauthorized: true,
          ...(this.options.ca ? { ca: [...rootCertificates, this.options.ca] } : {}),
          timeout: this.options.timeoutMs ?? 10_000,
        },
        (res) => {
          const type = String(res.headers['content-type'] ?? '');
          if (res.statusCode !== 200 || !/^text\/plain\b/i.test(type)) {
            res.destroy();
            return resolve(null);
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxPolicyBytes) {
              res.destroy();
              resolve(null);
            } else chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', () => resolve(null));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(null));
      req.end();
    });
    if (text === null) return null;
    const policy = parseStsPolicy(text);
    return policy.ok ? policy.value : null;
  }
}
