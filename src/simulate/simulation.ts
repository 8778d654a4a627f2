import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { environments, productLines, type Instance } from '../core/fleet/fleet.ts';
import { startMailshift, type RunningMailshift } from '../main.ts';
import { WarpClock } from '../warp-clock.ts';
import { percentile } from './percentile.ts';
import { RecordingSink } from './recording-sink.ts';

export interface SimulationOptions {
  instances: number;
  /** Messages held in the spool throughout (a suspended bystander instance's backlog). */
  held: number;
  /** Injected messages per second of real time, across the fleet. */
  rate: number;
  waveSize?: number;
  concurrency?: number;
  /** The target refuses the canary: every switch rolls back (for testing the halt). */
  refuseCanary?: boolean;
  onProgress?: (p: { wavesDone: number; waves: number; switched: number; instances: number }) => void;
}

export interface WaveReport {
  index: number;
  phase: string;
  retry: boolean;
  instances: number;
  estimatedMs: number;
  actualMs: number | null;
  pauseP50Ms: number | null;
  pauseP99Ms: number | null;
  /** Messages accepted while the wave's instances were paused and released by their resume. */
  heldReleased: number;
  lost: number;
  afterSwitchViaSource: number;
}

export interface SimulationReport {
  instances: number;
  waves: WaveReport[];
  programState: string;
  accepted: number;
  delivered: number;
  duplicates: number;
  lost: number;
  afterSwitchViaSource: number;
  pauseP50Ms: number | null;
  pauseP99Ms: number | null;
  switchedOnce: number;
  rolledBack: number;
  notices: number;
  heldBacklog: number;
  simulatedMs: number;
  realMs: number;
}

const day = 86_400_000;

/**
 * A whole upgrade program in accelerated time: a synthetic fleet over three product lines
 * and three environments, two infrastructures with loopback sinks, traffic injected
 * throughout, and a report of what each wave did to the mail.
 */
export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  const realStart = Date.now();
  const clock = new WarpClock();
  const simStart = clock.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-simulate-'));
  const source = await RecordingSink.start(clock);
  const target = await RecordingSink.start(clock, { refuseCanary: opts.refuseCanary });
  let app: RunningMailshift | undefined;
  try {
    app = await startMailshift(
      loadConfig({
        MAILSHIFT_DATA_DIR: dataDir,
        MAILSHIFT_SMTP_PORT: '0',
        MAILSHIFT_HTTP_PORT: '0',
        MAILSHIFT_CAPTURE_PORT: '0',
        MAILSHIFT_FEEDBACK_PORT: '0',
        MAILSHIFT_ADMIN_TOKEN: randomBytes(24).toString('base64url'),
        MAILSHIFT_POLL_MS: '50',
        MAILSHIFT_HOSTNAME: 'simulate.mailshift.test',
      }),
      { clock, logger: pino({ level: 'silent' }) },
    );
    const s = app.services;
    await s.fleet.createInfrastructure({ name: 'source', relays: [`127.0.0.1:${source.port}`] });
    await s.fleet.createInfrastructure({ name: 'target', relays: [`127.0.0.1:${target.port}`] });
    const fleet = await buildFleet(app, opts.instances);
    const heldBacklog = await holdBacklog(app, opts.held);

    await s.programService.create({
      name: 'simulation',
      from: 'source',
      to: 'target',
      nonprodStart: new Date(simStart + 8 * day).toISOString(),
      prodStart: new Date(simStart + 31 * day).toISOString(),
      waveSize: opts.waveSize ?? Math.max(5, Math.ceil(opts.instances / 8)),
      concurrency: opts.concurrency ?? 5,
      switchEstimate: '2s',
      drainAllowance: '1m',
      supportContact: 'support@simulate.mailshift.test',
    });
    const published = await s.programService.publish('simulation');

    const accepted = new Map<string, string>();
    let injecting = true;
    // Before the clock skips days, the mail already queued is let through, as it would be
    // in those days; injection waits for the jump.
    let paused = false;
    clock.hooks = {
      beforeJump: async () => {
        paused = true;
        await settled(app!);
      },
      afterJump: () => {
        paused = false;
      },
    };
    const injector = (async () => {
      let n = 0;
      while (injecting) {
        if (paused) {
          await delay(5);
          continue;
        }
        const instance = fleet[Math.floor(Math.random() * fleet.length)];
        const id = `m${++n}`;
        const raw = Buffer.from(`From: news@${instance.name}.example\r\nTo: r${n}@example.com\r\nSubject: simulated ${n}\r\nX-Sim-Id: ${id}\r\n\r\nbody\r\n`);
        try {
          await s.acceptor.accept({ instance, mailFrom: `news@${instance.name}.example`, recipients: [`r${n}@example.com`], raw }, 'http');
          accepted.set(id, instance.name);
        } catch {
          // Not accepted: not counted. The report counts only what got a 202.
        }
        await delay(1000 / opts.rate);
      }
    })();

    const waveCount = published.plan.waves.length;
    for (;;) {
      const status = await s.programService.status('simulation');
      opts.onProgress?.({
        wavesDone: status.waves.filter((w) => w.state === 'completed').length,
        waves: waveCount,
        switched: status.instances.filter((i) => i.state === 'completed').length,
        instances: status.instances.length,
      });
      if (status.state === 'completed' || status.state === 'halted') break;
      await delay(100);
    }
    injecting = false;
    await injector;
    if (heldBacklog > 0) await s.fleet.resume('bystander');
    await drained(app);

    return await report(app, accepted, source, target, heldBacklog, clock.now() - simStart, Date.now() - realStart);
  } finally {
    await app?.stop();
    await source.close();
    await target.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function buildFleet(app: RunningMailshift, count: number): Promise<Instance[]> {
  const s = app.services;
  const customers = Math.max(1, Math.ceil(count / 6));
  const zones = [
    { locale: 'es', timezone: 'Europe/Madrid' },
    { locale: 'en', timezone: 'America/New_York' },
    { locale: 'en-GB', timezone: 'Europe/London' },
    { locale: 'es-MX', timezone: 'America/Mexico_City' },
  ];
  for (let c = 0; c < customers; c++) {
    await s.fleet.createCustomer({ name: `customer-${c}`, contacts: [{ email: `ops@customer-${c}.example`, ...zones[c % zones.length] }] });
  }
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const { instance } = await s.fleet.createInstance({
      name: `inst-${i}`,
      customer: `customer-${i % customers}`,
      productLine: productLines[i % 3],
      environment: environments[Math.floor(i / 3) % 3],
      infrastructure: 'source',
    });
    instances.push(instance);
  }
  return instances;
}

/** A suspended instance on its own infrastructure whose backlog stays in the spool throughout. */
async function holdBacklog(app: RunningMailshift, held: number): Promise<number> {
  if (held <= 0) return 0;
  const s = app.services;
  await s.fleet.createInfrastructure({ name: 'bystander', relays: [`127.0.0.1:${app.capturePort}`] });
  await s.fleet.createCustomer({ name: 'bystander', contacts: [] });
  const { instance } = await s.fleet.createInstance({
    name: 'bystander',
    customer: 'bystander',
    productLine: 'managed-cloud',
    environment: 'production',
    infrastructure: 'bystander',
  });
  await s.fleet.suspend('bystander', 'simulation backlog');
  for (let i = 0; i < held; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, held - i) }, (_, k) => ({
      instance,
      mailFrom: 'news@bystander.example',
      recipients: [`held${i + k}@example.com`],
      raw: Buffer.from(`From: news@bystander.example\r\nTo: held${i + k}@example.com\r\nSubject: held\r\n\r\nheld\r\n`),
    }));
    await s.acceptor.acceptAll(batch, 'http');
  }
  return held;
}

/** Nothing due or in flight for instances that are sending (held mail may stay). */
async function settled(app: RunningMailshift, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const suspended = new Set((await app.repositories.fleet.listInstances()).filter((i) => i.suspended).map((i) => i.id));
    const busy = (await app.repositories.spool.queueCounts()).some(
      (c) => !suspended.has(c.instanceId) && (c.state === 'inflight' || c.state === 'scheduled') && c.count > 0,
    );
    if (!busy) return;
    await delay(5);
  }
}

async function drained(app: RunningMailshift, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await app.repositories.spool.queueCounts();
    if (!counts.some((c) => c.state === 'scheduled' || c.state === 'inflight')) return;
    await delay(100);
  }
}

async function report(
  app: RunningMailshift,
  accepted: Map<string, string>,
  source: RecordingSink,
  target: RecordingSink,
  heldBacklog: number,
  simulatedMs: number,
  realMs: number,
): Promise<SimulationReport> {
  const s = app.services;
  const status = await s.programService.status('simulation');
  const program = (await app.repositories.programs.find({ name: 'simulation' }))!;
  const switches = await app.repositories.switches.switches(program.id);
  // When each instance was rebound: from then on nothing of it may leave through the source.
  const reboundAt = new Map<string, number>();
  const switchedTimes = new Map<string, number>();
  for (const sw of switches) {
    const log = await app.repositories.switches.switchLog(sw.id);
    const rebinds = log.filter((l) => l.from === 'rebinding' && l.to === 'verifying');
    switchedTimes.set(sw.instanceName, log.filter((l) => l.to === 'completed').length);
    if (rebinds.length > 0 && sw.state === 'completed') reboundAt.set(sw.instanceName, rebinds[rebinds.length - 1].at);
  }
  const seen = new Map<string, number>();
  const viaSourceLate = new Set<string>();
  for (const r of source.received) {
    if (!r.simId) continue;
    seen.set(r.simId, (seen.get(r.simId) ?? 0) + 1);
    const at = reboundAt.get(accepted.get(r.simId) ?? '');
    if (at !== undefined && r.at > at) viaSourceLate.add(r.simId);
  }
  for (const r of target.received) if (r.simId) seen.set(r.simId, (seen.get(r.simId) ?? 0) + 1);
  const lostIds = [...accepted.keys()].filter((id) => !seen.has(id));
  const waveOf = new Map(status.instances.map((i) => [i.name, i.wave]));
  const countBy = (ids: Iterable<string>, wave: number) => [...ids].filter((id) => waveOf.get(accepted.get(id) ?? '') === wave).length;
  const pauses = status.instances.filter((i) => i.state === 'completed' && i.pausedMs !== null).map((i) => i.pausedMs!);
  const waves: WaveReport[] = status.waves.map((w) => {
    const mine = status.instances.filter((i) => i.wave === w.index);
    const p = mine.filter((i) => i.state === 'completed' && i.pausedMs !== null).map((i) => i.pausedMs!);
    const released = mine.reduce((a, i) => a + (i.released ?? 0), 0);
    return {
      index: w.index,
      phase: w.phase,
      retry: w.retry,
      instances: mine.length,
      estimatedMs: w.estimateMs,
      actualMs: w.actualMs,
      pauseP50Ms: percentile(p, 50),
      pauseP99Ms: percentile(p, 99),
      heldReleased: released,
      lost: countBy(lostIds, w.index),
      afterSwitchViaSource: countBy(viaSourceLate, w.index),
    };
  });
  return {
    instances: status.instances.length,
    waves,
    programState: status.state,
    accepted: accepted.size,
    delivered: seen.size,
    duplicates: [...seen.values()].reduce((a, n) => a + n - 1, 0),
    lost: lostIds.length,
    afterSwitchViaSource: viaSourceLate.size,
    pauseP50Ms: percentile(pauses, 50),
    pauseP99Ms: percentile(pauses, 99),
    switchedOnce: [...switchedTimes.values()].filter((n) => n === 1).length,
    rolledBack: status.instances.filter((i) => i.state !== 'completed').length,
    notices: (await app.repositories.notices.notices({ programId: program.id }, 1_000_000)).length,
    heldBacklog,
    simulatedMs,
    realMs,
  };
}
