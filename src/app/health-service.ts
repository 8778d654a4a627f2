/** What health needs: a round trip to the store, and whether this node's delivery loop runs. */
export interface HealthPorts {
  store: { ping(): Promise<void> };
  engine: { readonly running: boolean };
}

export type Health = { ok: true; engine: 'running' | 'stopped' } | { ok: false; error: unknown };

/** Liveness of this node: the store answers. A failure is a value, with the driver's error for the log. */
export class HealthService {
  constructor(private readonly ports: HealthPorts) {}

  async check(): Promise<Health> {
    try {
      await this.ports.store.ping();
    } catch (error) {
      return { ok: false, error };
    }
    return { ok: true, engine: this.ports.engine.running ? 'running' : 'stopped' };
  }
}
