import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { Infrastructure, Instance } from '../core/fleet/fleet.ts';
import {
  programTransition,
  switchRun,
  switchTransition,
  waveRun,
  waveTransition,
  type InstanceLocation,
  type ProgramEffect,
  type ProgramView,
  type SwitchChanges,
  type SwitchEvent,
  type SwitchOutcome,
  type SwitchRun,
  type SwitchWindow,
  type WaveChanges,
  type WaveEffect,
  type WaveRun,
} from '../core/upgrade/lifecycle.ts';
import type { StepResult, SwitchFailure } from '../core/upgrade/switch-failure.ts';
import type { SwitchState } from '../core/upgrade/switch-machine.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { ProgramRecord, ProgramRepository } from '../store/program-repository.ts';
import type { SwitchFields, SwitchRecord, SwitchRepository } from '../store/switch-repository.ts';
import type { WaveFields, WaveRecord, WaveRepository } from '../store/wave-repository.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { SwitchSteps } from './switch-steps.ts';

/**
 * What the runner reports as waves go: the notice service implements it (declared here,
 * by its one caller, so the app layer need not import the engine).
 */
export interface WaveEvents {
  waveStarted(program: ProgramRecord, wave: WaveRecord, switches: SwitchRecord[]): Promise<void>;
  waveFinished(program: ProgramRecord, wave: WaveRecord, switches: SwitchRecord[]): Promise<void>;
  /** `failure` is null for a switch whose stored error names no step (written by an older version). */
  rolledBack(program: ProgramRecord, sw: SwitchRecord, failure: SwitchFailure | null, retryWave: WaveRecord | undefined): Promise<void>;
}

/** The program records the runner reads and advances. */
export interface RunnerStores {
  programs: Pick<ProgramRepository, 'list' | 'setState'>;
  waves: Pick<WaveRepository, 'waves' | 'setWave'>;
  switches: Pick<SwitchRepository, 'switches' | 'transition'>;
}

export interface RunnerOptions {
  pollMs: number;
  /**
   * The longest it sleeps between looks (default a day). In a cluster, programs published
   * or resumed through another node cannot wake it, so it looks every poll.
   */
  maxWaitMs?: number;
}

/** A wait longer than this is cut short, so a clock that drifts is looked at again. */
const maxWaitMs = 24 * 3_600_000;

/** What one wave's switches share while it runs. */
interface WaveContext {
  program: ProgramRecord;
  waves: readonly WaveRecord[];
  window: SwitchWindow;
  source: Infrastructure;
  target: Infrastructure;
}

/** The effects the runner carries out the same way whichever machine asked. */
type StoreEffect = Exclude<ProgramEffect | WaveEffect, { kind: 'wait' | 'run-wave' }>;

/**
 * Carries out the upgrade lifecycle (src/core/upgrade/lifecycle.ts): loads the records, asks
 * the machine what is due, and carries out its effects (store writes, notices, switch steps).
 */
export class UpgradeRunner {
  private readonly task: PeriodicTask;

  constructor(
    private readonly store: RunnerStores,
    private readonly fleet: FleetRepository,
    private readonly steps: SwitchSteps,
    private readonly clock: Clock,
    private readonly events: WaveEvents,
    private readonly log: Logger,
    private readonly options: RunnerOptions,
  ) {
    // Waits on the clock, so warped time (simulate, tests) skips to the next window.
    this.task = new PeriodicTask(async () => Math.min(options.maxWaitMs ?? maxWaitMs, Math.max(0, (await this.tick()) - this.clock.now())), log, {
      name: 'upgrade runner tick',
      intervalMs: options.pollMs,
      sleep: (ms) => clock.sleep(ms),
    });
  }

  /** Started and not asked to stop: a run in progress checks this between switches and stops early. */
  get running(): boolean {
    return this.task.running;
  }

  start(): void {
    this.task.start();
  }

  /** Lets the switches in progress reach their next persisted state, then returns. */
  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** A program was published or changed: look again now. */
  wake(): void {
    this.task.wake();
  }

  /** Does all work due now; returns when there will next be something to do. */
  async tick(): Promise<number> {
    let next = Infinity;
    for (const program of await this.store.programs.list(['published', 'running'])) {
      try {
        next = Math.min(next, await this.advanceProgram(program));
      } catch (err) {
        // One program that cannot advance (its infrastructure deleted) must not hold up the others.
        this.log.error({ err, program: program.name }, 'advancing an upgrade program failed');
        next = Math.min(next, this.clock.now() + this.options.pollMs);
      }
    }
    return Number.isFinite(next) ? next : this.clock.now() + this.options.pollMs;
  }

  /** Runs the program's waves that are due, one after the other; returns when to look again. */
  private async advanceProgram(program: ProgramRecord): Promise<number> {
    let view: ProgramView<WaveRecord> = { state: program.state, waves: await this.store.waves.waves(program.id) };
    for (;;) {
      const polled = programTransition(view, { kind: 'poll' }, this.clock.now());
      // Stopping: no wave is opened, run or waited for (a program found done is still marked so).
      if (!this.running && polled.state.state !== 'completed') return Infinity;
      view = polled.state;
      let due: WaveRecord | undefined;
      for (const effect of polled.effects) {
        if (effect.kind === 'wait') return effect.until;
        if (effect.kind === 'run-wave') due = waveOf(view, effect.idx);
        else await this.apply(program, view, effect);
      }
      if (!due) return Infinity;
      const run = await this.runWave(program, due, view.waves);
      if (run.ended === 'unfinished') return this.clock.now() + this.options.pollMs;
      if (run.ended !== 'completed' || !this.running) return Infinity;
      view = programTransition(view, { kind: 'wave-ended', wave: run.wave }, this.clock.now()).state;
    }
  }

  private async apply(program: ProgramRecord, view: ProgramView<WaveRecord>, effect: StoreEffect): Promise<void> {
    switch (effect.kind) {
      case 'set-wave':
        await this.store.waves.setWave(waveOf(view, effect.idx).id, waveFields(effect.changes));
        return;
      case 'set-program':
        await this.store.programs.setState(program.id, effect.state, effect.haltedReason);
        if (effect.state === 'completed') this.log.info({ program: program.name }, 'upgrade program completed');
        return;
      case 'notify-wave-started':
      case 'notify-wave-finished': {
        const wave = waveOf(view, effect.idx);
        const switches = await this.store.switches.switches(program.id, wave.idx);
        // A notice about no instance reaches no one.
        if (switches.length === 0) return;
        if (effect.kind === 'notify-wave-started') await this.events.waveStarted(program, wave, switches);
        else await this.events.waveFinished(program, wave, switches);
        return;
      }
    }
  }

  /** Runs a wave's switches, `concurrency` at a time. */
  private async runWave(program: ProgramRecord, wave: WaveRecord, waves: readonly WaveRecord[]): Promise<WaveRun<WaveRecord>> {
    const [source, target] = await Promise.all([
      this.fleet.findInfrastructure({ name: program.spec.sourceInfrastructure }),
      this.fleet.findInfrastructure({ name: program.spec.targetInfrastructure }),
    ]);
    if (!source || !target) throw new Error(`program ${program.name}: infrastructure missing`);
    const queue = await this.store.switches.switches(program.id, wave.idx);
    let run = waveRun(wave, waves, queue.length, program.spec.haltThreshold);
    const context: WaveContext = { program, waves, window: { idx: wave.idx, end: wave.end, retryIdx: run.retryIdx }, source, target };
    // Workers share `run`: each transition is read and written back with no await between.
    const worker = async () => {
      while (queue.length > 0 && !run.halting && this.running) {
        const sw = queue.shift()!;
        try {
          const outcome = await this.runSwitch(context, sw);
          if (outcome !== null) run = waveTransition(run, { kind: 'switch-ended', outcome }, this.clock.now()).state;
        } catch (err) {
          // Broken infrastructure (the store), not a failed step: the switch keeps its
          // persisted state, the others go on, and the next poll picks it up again.
          run = waveTransition(run, { kind: 'switch-unfinished' }, this.clock.now()).state;
          this.log.error({ err, program: program.name, instance: sw.instanceName, state: sw.state }, 'a switch could not be carried out; it is tried again');
        }
      }
    };
    const workers = await Promise.allSettled(Array.from({ length: Math.max(1, program.spec.concurrency) }, worker));
    for (const w of workers) {
      if (w.status === 'fulfilled') continue;
      run = waveTransition(run, { kind: 'switch-unfinished' }, this.clock.now()).state;
      this.log.error({ err: w.reason, program: program.name, wave: wave.idx }, 'a switch worker failed');
    }
    const drained = waveTransition(run, { kind: 'drained', stopped: !this.running }, this.clock.now());
    run = drained.state;
    const view = { state: program.state, waves: waves.map((w) => (w.idx === run.wave.idx ? run.wave : w)) };
    for (const effect of drained.effects) await this.apply(program, view, effect);
    if (run.ended === 'halted') this.log.warn({ program: program.name, wave: wave.idx, failed: run.failed }, 'wave halted');
    return run;
  }

  /**
   * Carries a switch as far as it goes in this run, persisting each step; returns how it
   * ended, or null when it did not (the runner stops, or another runner moved it first).
   */
  private async runSwitch(context: WaveContext, sw: SwitchRecord): Promise<SwitchOutcome | null> {
    const { program, source, target } = context;
    const stored: SwitchRecord = { ...sw };
    const feed = (run: SwitchRun, event: SwitchEvent) => this.applySwitchEvent(context, stored, run, event);
    let run = await feed(switchRun(sw, context.window), { kind: 'pick-up' });
    if (run?.ended === null) {
      const instance = await this.fleet.findInstance({ id: sw.instanceId });
      if (!instance) throw new Error(`instance ${sw.instanceId} vanished`);
      run = await feed(run, { kind: 'located', on: locationOf(instance, source, target), source: source.name });
      while (run?.ended === null && this.running) {
        run = await feed(run, { kind: 'step-done', result: await this.step(run.state, program, instance, source, target) });
      }
    }
    if (run?.ended === 'failed') {
      this.log.error(
        { program: program.name, instance: sw.instanceName, step: run.failure?.step, error: run.failure?.detail },
        'switch failed: needs an operator',
      );
    }
    return run?.ended ?? null;
  }

  /** Feeds the switch machine one event and carries out its effects; null when another runner moved the switch first. */
  private async applySwitchEvent(context: WaveContext, stored: SwitchRecord, run: SwitchRun, event: SwitchEvent): Promise<SwitchRun | null> {
    const now = this.clock.now();
    const next = switchTransition(run, event, now);
    for (const effect of next.effects) {
      if (effect.kind === 'persist-switch') {
        const { from, to, changes, detail } = effect;
        if (!(await this.store.switches.transition(stored.id, from, to, now, switchFields(changes), detail ?? undefined))) return null;
        Object.assign(stored, { state: to }, changes);
      } else {
        const retryWave = effect.retryIdx === null ? undefined : context.waves.find((w) => w.idx === effect.retryIdx);
        await this.events.rolledBack(context.program, { ...stored }, effect.failure, retryWave);
      }
    }
    return next.state;
  }

  /** Carries out one state's step; each is safe to repeat after a crash. */
  private async step(
    state: SwitchState,
    program: ProgramRecord,
    instance: Instance,
    source: Infrastructure,
    target: Infrastructure,
  ): Promise<StepResult<{ released?: number }>> {
    switch (state) {
      case 'prechecking':
        return this.steps.precheck(target, instance);
      case 'suspending':
        return this.steps.suspend(instance, program.name);
      case 'draining':
        return this.steps.drain(instance);
      case 'rebinding':
        return this.steps.rebind(instance, target);
      case 'verifying':
        return this.steps.verify(target, instance, program.name);
      case 'resuming':
        return this.steps.resume(instance, program.name);
      case 'rolling-back': {
        const back = await this.steps.rebind(instance, source);
        return back.ok ? this.steps.resume(instance, program.name) : back;
      }
      default:
        // Starting (`scheduled`) has no step of its own.
        return { ok: true };
    }
  }
}

function waveOf(view: ProgramView<WaveRecord>, idx: number): WaveRecord {
  const wave = view.waves.find((w) => w.idx === idx);
  if (!wave) throw new Error(`no wave ${idx}`);
  return wave;
}

function locationOf(instance: Instance, source: Infrastructure, target: Infrastructure): InstanceLocation {
  if (instance.infrastructureId === source.id) return 'source';
  return instance.infrastructureId === target.id ? 'target' : 'elsewhere';
}

function waveFields(changes: WaveChanges): WaveFields {
  const fields: WaveFields = {};
  if (changes.state !== undefined) fields.state = changes.state;
  if (changes.actualStart !== undefined) fields.actual_start = changes.actualStart;
  if (changes.actualEnd !== undefined) fields.actual_end = changes.actualEnd;
  return fields;
}

function switchFields(changes: SwitchChanges): SwitchFields {
  const fields: SwitchFields = {};
  if (changes.startedAt !== undefined) fields.started_at = changes.startedAt;
  if (changes.suspendedAt !== undefined) fields.suspended_at = changes.suspendedAt;
  if (changes.switchedAt !== undefined) fields.switched_at = changes.switchedAt;
  if (changes.pausedMs !== undefined) fields.paused_ms = changes.pausedMs;
  if (changes.released !== undefined) fields.released = changes.released;
  if (changes.error !== undefined) fields.error = changes.error;
  if (changes.attempts !== undefined) fields.attempts = changes.attempts;
  if (changes.waveIdx !== undefined) fields.wave_idx = changes.waveIdx;
  return fields;
}
