import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type DeliveryOutcomeKind = 'delivered' | 'deferred' | 'bounced' | 'expired' | 'suppressed';

/** Prometheus metrics of one mailshift process; a registry of its own so tests can run several. */
export class Metrics {
  readonly registry = new Registry();
  readonly accepted = new Counter({
    name: 'mailshift_messages_accepted_total',
    help: 'Messages committed to the spool',
    labelNames: ['instance', 'infrastructure', 'via'],
    registers: [this.registry],
  });
  readonly outcomes = new Counter({
    name: 'mailshift_deliveries_total',
    help: 'Delivery attempt outcomes',
    labelNames: ['instance', 'infrastructure', 'outcome'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'mailshift_delivery_latency_seconds',
    help: 'From acceptance to delivery',
    labelNames: ['infrastructure'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400],
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'mailshift_auth_failures_total',
    help: 'Failed credential checks per door',
    labelNames: ['door'],
    registers: [this.registry],
  });
  readonly authRefused = new Counter({
    name: 'mailshift_auth_rate_limited_total',
    help: 'Attempts refused because the source or account is locked out',
    labelNames: ['door', 'scope'],
    registers: [this.registry],
  });
  readonly busyRefusals = new Counter({
    name: 'mailshift_busy_refusals_total',
    help: 'Submissions refused or connections closed to protect memory or descriptors',
    labelNames: ['door', 'reason'],
    registers: [this.registry],
  });

  constructor(queueDepth: () => Promise<{ state: string; count: number }[]>) {
    new Gauge({
      name: 'mailshift_queue_depth',
      help: 'Deliveries per state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const row of await queueDepth()) this.set({ state: row.state }, row.count);
      },
    });
  }
}
