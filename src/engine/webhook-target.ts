import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { fail, ok, type Result } from '../core/errors.ts';
import { mayConnect, parseIp, type Network } from '../core/net/ip-address.ts';
import { urlHost } from '../core/net/webhook-url.ts';

/** Every address a host name resolves to. Injected so tests can play DNS. */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** A webhook URL together with the one address it was checked at: the only one connected to. */
export interface WebhookTarget {
  url: URL;
  host: string;
  address: string;
  family: 4 | 6;
}

/** What happened to a POST; `detail` is for the operator's log, never for the tenant. */
export type PostOutcome = { ok: true } | { ok: false; detail: string };

export interface WebhookTargetOptions {
  resolver?: Resolver;
  resolveTimeoutMs?: number;
  /** Response bytes read (and dropped) before the connection is cut. */
  maxResponseBytes?: number;
}

/**
 * Keeps webhooks pointed outward: a target is resolved, refused when any of its addresses
 * is loopback, private, link-local or otherwise reserved (outside the operator's allowed
 * networks), and then connected to at exactly the address that passed, so a DNS answer
 * that changes between check and connect (rebinding) cannot aim it inward.
 */
export class WebhookTargets {
  private readonly resolver: Resolver;
  private readonly resolveTimeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(
    private readonly allowNetworks: readonly Network[],
    options: WebhookTargetOptions = {},
  ) {
    this.resolver = options.resolver ?? systemResolver;
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? 5000;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  }

  async check(url: URL): Promise<Result<WebhookTarget>> {
    const host = urlHost(url);
    let addresses: string[];
    if (parseIp(host)) {
      addresses = [host];
    } else {
      try {
        addresses = await this.resolve(host);
      } catch {
        addresses = [];
      }
    }
    // Any inward answer refuses the host: which one a connection would use is not ours to pick.
    // One answer for a name that does not resolve and one that resolves inward, so the
    // refusal tells a tenant nothing of the server's network.
    if (addresses.length === 0 || addresses.some((a) => !mayConnect(a, this.allowNetworks))) {
      return fail('invalid-request', `url host ${host} cannot be used: webhooks must resolve to public Internet addresses only`);
    }
    const address = addresses[0];
    return ok({ url, host, address, family: parseIp(address)!.family });
  }

  /** POSTs `body`; only a 2xx counts (a redirect is a failure, never followed). */
  post(target: WebhookTarget, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostOutcome> {
    const { address, family } = target;
    // The checked address, whatever DNS says now (IP literals never reach a lookup).
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if (options.all) (callback as (err: null, addresses: { address: string; family: number }[]) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<PostOutcome>((resolve) => {
      const req = send(
        target.url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: pinned,
          agent: false,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          this.discard(res);
          resolve(status >= 200 && status < 300 ? { ok: true } : { ok: false, detail: `HTTP ${status}` });
        },
      );
      req.on('error', (err) => resolve({ ok: false, detail: err.message }));
      req.end(body);
    });
  }

  private async resolve(host: string): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`resolving ${host} timed out`)), this.resolveTimeoutMs);
    });
    try {
      return await Promise.race([this.resolver(host), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads and drops the body, cutting the connection past the cap. */
  private discard(res: IncomingMessage): void {
    let bytes = 0;
    res.on('error', () => undefined);
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > this.maxResponseBytes) res.destroy();
    });
  }
}
