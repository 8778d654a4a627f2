import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { Infrastructure, Instance } from '../core/fleet/fleet.ts';
import { formatSwitchFailure, parseSwitchFailure, type StepResult, type SwitchFailure } from '../core/upgrade/switch-failure.ts';
import { advance, afterWindow, terminalStates, type SwitchState } from '../core/upgrade/switch-machine.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { ProgramRecord, ProgramRepository } from '../store/program-repository.ts';
import type { SwitchFields, SwitchRecord, SwitchRepository } from '../store/switch-repository.ts';
import type { WaveRecord, WaveRepository } from '../store/wave-repository.ts';
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
}

/** A wait longer than this is cut short, so a clock that drifts is looked at again. */
const maxWaitMs = 24 * 3_600_000;

/** How a wave's run ended. `unfinished`: a switch hit an unexpected error and is tried again at the next poll. */
type WaveOutcome = 'completed' | 'halted' | 'stopped' | 'unfinished';

/** How a switch's run ended, and the failure that rolled it back or failed it, if any. */
interface SwitchEnd {
  state: SwitchState;
  failure: SwitchFailure | null;
}

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
    this.task = new PeriodicTask(async () => Math.min(maxWaitMs, Math.max(0, (await this.tick()) - this.clock.now())), log, {
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

  private async advanceProgram(program: ProgramRecord): Promise<number> {
    const waves = await this.store.waves.waves(program.id);
    for (const wave of waves) {
      if (wave.state === 'completed') continue;
      if (wave.state === 'halted' || !this.running) return Infinity;
      const now = this.clock.now();
      if (wave.state === 'scheduled') {
        if (now < wave.start) return wave.start;
        await this.store.waves.setWave(wave.id, { state: 'running', actual_start: now });
        if (program.state !== 'running') await this.store.programs.setState(program.id, 'running');
        wave.state = 'running';
        wave.actualStart = now;
        const switches = await this.store.switches.switches(program.id, wave.idx);
        // No "started" notice for a window that has already passed (the orchestrator was down).
        if (switches.length > 0 && now <= wave.end) await this.events.waveStarted(program, wave, switches);
      }
      const outcome = await this.runWave(program, wave, waves);
      if (outcome === 'unfinished') return this.clock.now() + this.options.pollMs;
      if (outcome !== 'completed' || !this.running) return Infinity;
    }
    await this.store.programs.setState(program.id, 'completed');
    this.log.info({ program: program.name }, 'upgrade program completed');
    return Infinity;
  }

  /** Runs a wave's switches, `concurrency` at a time. */
  private async runWave(program: ProgramRecord, wave: WaveRecord, waves: WaveRecord[]): Promise<WaveOutcome> {
    const [source, target] = await Promise.all([
      this.fleet.findInfrastructure({ name: program.spec.sourceInfrastructure }),
      this.fleet.findInfrastructure({ name: program.spec.targetInfrastructure }),
    ]);
    if (!source || !target) throw new Error(`program ${program.name}: infrastructure missing`);
    const all = await this.store.switches.switches(program.id, wave.idx);
    const queue = all.filter((s) => !terminalStates.has(s.state));
    const retryWave = waves.find((w) => w.retry && w.phase === wave.phase && w.idx > wave.idx);
    let failed = 0;
    let unfinished = 0;
    let halted = false;
    const worker = async () => {
      while (queue.length > 0 && !halted && this.running) {
        const sw = queue.shift()!;
        try {
          const end: SwitchEnd =
            sw.state === 'scheduled' && this.clock.now() > wave.end
              ? { state: 'scheduled', failure: null }
              : await this.runSwitch(program, wave, sw, source, target);
          if (end.state === 'scheduled') {
            // Never start a switch outside the window the customer was told about.
            if (this.running && this.clock.now() > wave.end) await this.missedWindow(sw, wave, retryWave);
            continue;
          }
          if (end.state !== 'rolled-back' && end.state !== 'failed') continue;
          failed++;
          if (end.state === 'rolled-back') {
            await this.events.rolledBack(program, sw, end.failure, retryWave);
            if (retryWave && !wave.retry) {
              await this.store.switches.transition(
                sw.id,
                'rolled-back',
                'scheduled',
                this.clock.now(),
                { wave_idx: retryWave.idx, attempts: sw.attempts + 1 },
                `moved to retry wave ${retryWave.idx}`,
              );
            }
          } else {
            this.log.error(
              { program: program.name, instance: sw.instanceName, step: end.failure?.step, error: end.failure?.detail },
              'switch failed: needs an operator',
            );
          }
          if (all.length > 0 && failed / all.length > program.spec.haltThreshold) halted = true;
        } catch (err) {
          // Broken infrastructure (the store), not a failed step: the switch keeps its
          // persisted state, the others go on, and the next poll picks it up again.
          unfinished++;
          this.log.error({ err, program: program.name, instance: sw.instanceName, state: sw.state }, 'a switch could not be carried out; it is tried again');
        }
      }
    };
    const workers = await Promise.allSettled(Array.from({ length: Math.max(1, program.spec.concurrency) }, worker));
    for (const w of workers) {
      if (w.status === 'fulfilled') continue;
      unfinished++;
      this.log.error({ err: w.reason, program: program.name, wave: wave.idx }, 'a switch worker failed');
    }
    if (!this.running && !halted) return 'stopped';
    const now = this.clock.now();
    if (halted) {
      const reason = `wave ${wave.idx}: ${failed} of ${all.length} switches failed (threshold ${Math.round(program.spec.haltThreshold * 100)}%)`;
      await this.store.waves.setWave(wave.id, { state: 'halted', actual_end: now });
      await this.store.programs.setState(program.id, 'halted', reason);
      this.log.warn({ program: program.name, wave: wave.idx, failed }, 'wave halted');
      return 'halted';
    }
    if (unfinished > 0) return 'unfinished';
    await this.store.waves.setWave(wave.id, { state: 'completed', actual_end: now });
    const finished = await this.store.switches.switches(program.id, wave.idx);
    if (finished.length > 0) await this.events.waveFinished(program, { ...wave, state: 'completed', actualEnd: now }, finished);
    return 'completed';
  }

  /** A switch that did not start within its window: to the retry wave if there is one, else failed. */
  private async missedWindow(sw: SwitchRecord, wave: WaveRecord, retryWave: WaveRecord | undefined): Promise<void> {
    const now = this.clock.now();
    if (retryWave && !wave.retry) {
      await this.store.switches.transition(
        sw.id,
        'scheduled',
        'scheduled',
        now,
        { wave_idx: retryWave.idx },
        `window of wave ${wave.idx} closed before it started; moved to retry wave ${retryWave.idx}`,
      );
    } else {
      const missed: SwitchFailure = { step: 'window', detail: 'closed before the switch could start' };
      await this.store.switches.transition(sw.id, 'scheduled', 'failed', now, { error: formatSwitchFailure(missed) }, 'missed its window');
    }
  }

  /** Carries a switch from its persisted state to a terminal one (or back to scheduled when its window closed first), persisting each step. */
  private async runSwitch(program: ProgramRecord, wave: WaveRecord, sw: SwitchRecord, source: Infrastructure, target: Infrastructure): Promise<SwitchEnd> {
    let state = sw.state;
    // A switch found rolling back after a restart rolls back for the failure stored before.
    let failure = parseSwitchFailure(sw.error);
    const instance = await this.fleet.findInstance({ id: sw.instanceId });
    if (!instance) throw new Error(`instance ${sw.instanceId} vanished`);
    if (this.clock.now() > wave.end && state !== 'scheduled') {
      const next = afterWindow(state);
      const closed: SwitchFailure = { step: 'window', detail: 'closed before the switch finished' };
      if (
        next !== state &&
        (await this.store.switches.transition(sw.id, state, next, this.clock.now(), { error: formatSwitchFailure(closed) }, 'window closed'))
      ) {
        state = next;
        failure = closed;
      }
      // It never paused sending: left for the missed-window handling, not started late.
      if (state === 'scheduled') return { state, failure };
    }
    if (state === 'scheduled' && instance.infrastructureId !== source.id) {
      // Moved by someone else since the plan: never pull it back to the source on a failure.
      const now = this.clock.now();
      if (instance.infrastructureId === target.id) {
        await this.store.switches.transition(sw.id, state, 'completed', now, { switched_at: now, paused_ms: 0, released: 0 }, 'already on the target');
        return { state: 'completed', failure: null };
      }
      const moved: SwitchFailure = { step: 'pre-check', detail: `instance is no longer on ${source.name}` };
      await this.store.switches.transition(sw.id, state, 'failed', now, { error: formatSwitchFailure(moved) }, formatSwitchFailure(moved));
      return { state: 'failed', failure: moved };
    }
    let suspendedAt = sw.suspendedAt;
    while (!terminalStates.has(state) && this.running) {
      const { result, fields } = await this.step(state, program, instance, source, target, suspendedAt);
      const next = advance(state, result);
      const now = this.clock.now();
      const error = result.ok ? undefined : formatSwitchFailure(result);
      const all: SwitchFields = { ...fields, ...(error === undefined ? {} : { error }) };
      if (state === 'suspending' && result.ok) suspendedAt = all.suspended_at ?? now;
      if (!(await this.store.switches.transition(sw.id, state, next, now, all, error))) break;
      if (!result.ok) failure = { step: result.step, detail: result.detail };
      state = next;
    }
    sw.state = state;
    return { state, failure };
  }

  private async step(
    state: SwitchState,
    program: ProgramRecord,
    instance: Instance,
    source: Infrastructure,
    target: Infrastructure,
    suspendedAt: number | null,
  ): Promise<{ result: StepResult; fields: SwitchFields }> {
    const now = () => this.clock.now();
    switch (state) {
      case 'scheduled':
        return { result: { ok: true }, fields: { started_at: now() } };
      case 'prechecking':
        return { result: await this.steps.precheck(target), fields: {} };
      case 'suspending': {
        const result = await this.steps.suspend(instance, program.name);
        return { result, fields: result.ok ? { suspended_at: now() } : {} };
      }
      case 'draining':
        return { result: await this.steps.drain(instance), fields: {} };
      case 'rebinding':
        return { result: await this.steps.rebind(instance, target), fields: {} };
      case 'verifying':
        return { result: await this.steps.verify(target, instance, program.name), fields: {} };
      case 'resuming': {
        const r = await this.steps.resume(instance, program.name);
        const at = now();
        return r.ok
          ? { result: { ok: true }, fields: { released: r.released, switched_at: at, paused_ms: suspendedAt === null ? null : at - suspendedAt } }
          : { result: r, fields: {} };
      }
      case 'rolling-back': {
        // A failure here is the roll-back's, whichever of its two steps it was.
        const back = await this.steps.rebind(instance, source);
        if (!back.ok) return { result: { ...back, step: 'roll-back' }, fields: {} };
        const r = await this.steps.resume(instance, program.name);
        const at = now();
        return r.ok
          ? { result: { ok: true }, fields: { released: r.released, paused_ms: suspendedAt === null ? null : at - suspendedAt } }
          : { result: { ...r, step: 'roll-back' }, fields: {} };
      }
      default:
        return { result: { ok: true }, fields: {} };
    }
  }
}
