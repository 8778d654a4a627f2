import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type DeliveryOutcomeKind = 'delivered' | 'deferred' | 'bounced' | 'expired' | 'suppressed';

/** One instance's or infrastructure's reputation over one window, as the gauges show it. */
export interface ReputationSeries {
  scope: 'instance' | 'infrastructure';
  name: string;
  window: '24h' | '7d';
  deliveries: number;
  hardBounceRate: number;
  complaintRate: number;
  unsubscribeRate: number;
}

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

  readonly feedbackReports = new Counter({
    name: 'mailshift_feedback_reports_total',
    help: 'Messages received by the feedback listener, by what they turned out to be',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  /** Where the reputation gauges read from at each scrape; set by the composition root. */
  private reputation: (() => Promise<ReputationSeries[]>) | null = null;

  watchReputation(read: () => Promise<ReputationSeries[]>): void {
    this.reputation = read;
  }

  constructor(queueDepth: () => Promise<{ state: string; count: number }[]>) {
    const metrics = this;
    new Gauge({
      name: 'mailshift_reputation_deliveries',
      help: 'Deliveries per instance or infrastructure over a rolling window (24h, 7d)',
      labelNames: ['scope', 'name', 'window'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of (await metrics.reputation?.()) ?? []) this.set({ scope: s.scope, name: s.name, window: s.window }, s.deliveries);
      },
    });
    new Gauge({
      name: 'mailshift_reputation_rate',
      help: 'Hard bounces, complaints and unsubscribes over deliveries, per instance or infrastructure and rolling window',
      labelNames: ['scope', 'name', 'window', 'kind'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of (await metrics.reputation?.()) ?? []) {
          const labels = { scope: s.scope, name: s.name, window: s.window };
          this.set({ ...labels, kind: 'hard_bounce' }, s.hardBounceRate);
          this.set({ ...labels, kind: 'complaint' }, s.complaintRate);
          this.set({ ...labels, kind: 'unsubscribe' }, s.unsubscribeRate);
        }
      },
    });
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
