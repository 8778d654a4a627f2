import { resolveMx } from 'node:dns/promises';
import type { Infrastructure, Relay } from '../core/fleet/fleet.ts';

/**
 * Where mail for `domain` goes through `infra`: its relays in turn, or the domain's MX
 * hosts by preference (falling back to the domain itself, RFC 5321 §5.1).
 */
export async function destinationHosts(infra: Infrastructure, domain: string, rotation: number): Promise<Relay[]> {
  if (infra.deliveryMode === 'relay') {
    const n = infra.relays.length;
    return infra.relays.map((_, i) => infra.relays[(i + rotation) % n]);
  }
  try {
    const mx = await resolveMx(domain);
    if (mx.length === 0) return [{ host: domain, port: 25 }];
    return mx.sort((a, b) => a.priority - b.priority).map((r) => ({ host: r.exchange, port: 25 }));
  } catch {
    return [{ host: domain, port: 25 }];
  }
}
