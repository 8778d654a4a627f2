import type { Harness } from './harness.ts';

const day = 86_400_000;

export interface FleetSpec {
  customer: string;
  contacts?: { email: string; locale: string; timezone: string }[];
  instances: { name: string; environment: 'development' | 'staging' | 'production' }[];
}

/** Infrastructures `blue` (source) and `green` (target) and the given customers' instances on blue. */
export async function upgradeFleet(h: Harness, source: string, target: string, fleet: FleetSpec[]): Promise<Record<string, string>> {
  await ok(h.admin('POST', '/api/admin/v1/infrastructures', { name: 'blue', relays: [source] }));
  await ok(h.admin('POST', '/api/admin/v1/infrastructures', { name: 'green', relays: [target] }));
  const keys: Record<string, string> = {};
  for (const c of fleet) {
    await ok(
      h.admin('POST', '/api/admin/v1/customers', {
        name: c.customer,
        contacts: c.contacts ?? [{ email: `ops@${c.customer}.example`, locale: 'en', timezone: 'UTC' }],
      }),
    );
    for (const i of c.instances) {
      const res = await ok(
        h.admin('POST', '/api/admin/v1/instances', {
          name: i.name,
          customer: c.customer,
          productLine: 'managed-cloud',
          environment: i.environment,
          infrastructure: 'blue',
        }),
      );
      keys[i.name] = res.body.credentials.apiKey;
    }
  }
  return keys;
}

/** A program from blue to green whose phases start 8 and 31 days after `now`. */
export function programBody(name: string, now: number, extra: Record<string, unknown> = {}) {
  return {
    name,
    from: 'blue',
    to: 'green',
    nonprodStart: new Date(now + 8 * day).toISOString(),
    prodStart: new Date(now + 31 * day).toISOString(),
    switchEstimate: '2s',
    drainAllowance: '1m',
    supportContact: 'help@mailshift.example',
    ...extra,
  };
}

export async function ok<T extends { status: number; body: any }>(p: Promise<T>): Promise<T> {
  const res = await p;
  if (res.status >= 300) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res;
}
