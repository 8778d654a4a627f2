import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { Infrastructure, Instance } from '../core/fleet/fleet.ts';
import { advance, afterWindow, terminalStates, type StepResult, type SwitchState } from '../core/upgrade/switch-machine.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { ProgramRecord, ProgramRepository, SwitchFields, SwitchRecord, WaveRecord } from '../store/program-repository.ts';
import type { SwitchSteps } from './switch-steps.ts';

export interface WaveEvents {
  waveStarted(program: ProgramRecord, wave: WaveRecord, switches: SwitchRecord[]): Promise<void>;
  waveFinished(program: ProgramRecord, wave: WaveRecord, switches: SwitchRecord[]): Promise<void>;
  rolledBack(program: ProgramRecord, sw: SwitchRecord, reason: string, retryWave: WaveRecord | undefined): Promise<void>;
}

export interface RunnerOptions {
  pollMs: number;
}

/**
 * Carries out published programs: at a window's start it switches the wave's instances with
 * bounded concurrency. Every step is persisted before the next, so a restart resumes each
 * switch where it stopped (see core/upgrade/switch-machine.ts).
 */
export class UpgradeRunner {
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly programs: ProgramRepository,
    private readonly fleet: FleetRepository,
    private readonly steps: SwitchSteps,
    private readonly clock: Clock,
    private readonly events: WaveEvents,
    private readonly log: Logger,
    private readonly options: RunnerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  /** A program was published or changed: look again now. */
  wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let next = this.clock.now() + this.options.pollMs;
      try {
        next = await this.tick();
      } catch (err) {
        this.log.error({ err }, 'upgrade runner tick failed');
      }
      if (!this.running) break;
      const wait = Math.max(0, next - this.clock.now());
      await Promise.race([this.clock.sleep(Math.min(wait, 24 * 3_600_000)), new Promise<void>((r) => (this.wakeUp = r))]);
      this.wakeUp = null;
    }
  }

  /** Does all work due now; returns when there will next be something to do. */
  async tick(): Promise<number> {
    let next = Infinity;
    for (const program of await this.programs.list(['published', 'running'])) {
      const at = await this.advanceProgram(program);
      next = Math.min(next, at);
    }
    return Number.isFinite(next) ? next : this.clock.now() + this.options.pollMs;
  }

  private async advanceProgram(program: ProgramRecord): Promise<number> {
    const waves = await this.programs.waves(program.id);
    for (const wave of waves) {
      if (wave.state === 'completed') continue;
      if (wave.state === 'halted' || !this.running) return Infinity;
      const now = this.clock.now();
      if (wave.state === 'scheduled') {
        if (now < wave.start) return wave.start;
        await this.programs.setWave(wave.id, { state: 'running', actual_start: now });
        if (program.state !== 'running') await this.programs.setState(program.id, 'running');
        wave.state = 'running';
        wave.actualStart = now;
        const switches = await this.programs.switches(program.id, wave.idx);
        // No "started" notice for a window that has already passed (the orchestrator was down).
        if (switches.length > 0 && now <= wave.end) await this.events.waveStarted(program, wave, switches);
      }
      const halted = await this.runWave(program, wave, waves);
      if (halted || !this.running) return Infinity;
    }
    await this.programs.setState(program.id, 'completed');
    this.log.info({ program: program.name }, 'upgrade program completed');
    return Infinity;
  }

  /** Runs a wave's switches, `concurrency` at a time; returns true if the wave halted. */
  private async runWave(program: ProgramRecord, wave: WaveRecord, waves: WaveRecord[]): Promise<boolean> {
    const [source, target] = await Promise.all([
      this.fleet.findInfrastructure({ name: program.spec.sourceInfrastructure }),
      this.fleet.findInfrastructure({ name: program.spec.targetInfrastructure }),
    ]);
    if (!source || !target) throw new Error(`program ${program.name}: infrastructure missing`);
    const all = await this.programs.switches(program.id, wave.idx);
    const queue = all.filter((s) => !terminalStates.has(s.state));
    const retryWave = waves.find((w) => w.retry && w.phase === wave.phase && w.idx > wave.idx);
    let failed = 0;
    let halted = false;
    const worker = async () => {
      while (queue.length > 0 && !halted && this.running) {
        const sw = queue.shift()!;
        if (sw.state === 'scheduled' && this.clock.now() > wave.end) {
          // Never start a switch outside the window the customer was told about.
          const now = this.clock.now();
          if (retryWave && !wave.retry) await this.programs.transition(sw.id, 'scheduled', 'scheduled', now, { wave_idx: retryWave.idx }, `window of wave ${wave.idx} closed before it started; moved to retry wave ${retryWave.idx}`);
          else await this.programs.transition(sw.id, 'scheduled', 'failed', now, { error: 'the window closed before the switch could start' }, 'missed its window');
          continue;
        }
        const end = await this.runSwitch(program, wave, sw, source, target);
        if (end === 'rolled-back' || end === 'failed') {
          failed++;
          if (end === 'rolled-back') {
            await this.events.rolledBack(program, sw, sw.error ?? 'switch failed', retryWave);
            if (retryWave && !wave.retry) {
              await this.programs.transition(sw.id, 'rolled-back', 'scheduled', this.clock.now(), { wave_idx: retryWave.idx, attempts: sw.attempts + 1 }, `moved to retry wave ${retryWave.idx}`);
            }
          } else {
            this.log.error({ program: program.name, instance: sw.instanceName, error: sw.error }, 'switch failed: needs an operator');
          }
          if (all.length > 0 && failed / all.length > program.spec.haltThreshold) halted = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, program.spec.concurrency) }, worker));
    if (!this.running && !halted) return false;
    const now = this.clock.now();
    if (halted) {
      const reason = `wave ${wave.idx}: ${failed} of ${all.length} switches failed (threshold ${Math.round(program.spec.haltThreshold * 100)}%)`;
      await this.programs.setWave(wave.id, { state: 'halted', actual_end: now });
      await this.programs.setState(program.id, 'halted', reason);
      this.log.warn({ program: program.name, wave: wave.idx, failed }, 'wave halted');
      return true;
    }
    await this.programs.setWave(wave.id, { state: 'completed', actual_end: now });
    const finished = await this.programs.switches(program.id, wave.idx);
    if (finished.length > 0) await this.events.waveFinished(program, { ...wave, state: 'completed', actualEnd: now }, finished);
    return false;
  }

  /** Carries a switch from its persisted state to a terminal one, persisting each step. */
  private async runSwitch(program: ProgramRecord, wave: WaveRecord, sw: SwitchRecord, source: Infrastructure, target: Infrastructure): Promise<SwitchState> {
    let state = sw.state;
    const instance = await this.fleet.findInstance({ id: sw.instanceId });
    if (!instance) throw new Error(`instance ${sw.instanceId} vanished`);
    if (this.clock.now() > wave.end && state !== 'scheduled') {
      const next = afterWindow(state);
      if (next !== state && (await this.programs.transition(sw.id, state, next, this.clock.now(), { error: 'window closed before the switch finished' }, 'window closed'))) state = next;
    }
    if (state === 'scheduled' && instance.infrastructureId !== source.id) {
      // Moved by someone else since the plan: never pull it back to the source on a failure.
      const onTarget = instance.infrastructureId === target.id;
      const next: SwitchState = onTarget ? 'completed' : 'failed';
      const error = onTarget ? null : `instance is no longer on ${source.name}`;
      await this.programs.transition(sw.id, state, next, this.clock.now(), onTarget ? { switched_at: this.clock.now(), paused_ms: 0, released: 0 } : { error }, onTarget ? 'already on the target' : error!);
      sw.error = error;
      return next;
    }
    let suspendedAt = sw.suspendedAt;
    while (!terminalStates.has(state) && this.running) {
      const { result, fields } = await this.step(state, program, instance, source, target, suspendedAt);
      const next = advance(state, result);
      const now = this.clock.now();
      const all: SwitchFields = { ...fields, ...(result.ok ? {} : { error: result.error }) };
      if (state === 'suspending' && result.ok) suspendedAt = all.suspended_at ?? now;
      if (!(await this.programs.transition(sw.id, state, next, now, all, result.ok ? undefined : result.error))) break;
      if (!result.ok) sw.error = result.error;
      state = next;
    }
    sw.state = state;
    return state;
  }

  private async step(state: SwitchState, program: ProgramRecord, instance: Instance, source: Infrastructure, target: Infrastructure, suspendedAt: number | null): Promise<{ result: StepResult; fields: SwitchFields }> {
    const now = () => this.clock.now();
    switch (state) {
      case 'scheduled':
        return { result: { ok: true }, fields: { started_at: now() } };
      case 'prechecking':
        return { result: await this.steps.precheck(target), fields: {} };
      case 'suspending': {
        const result = await this.steps.suspend(instance, program.name);
        return { result, fields: { suspended_at: now() } };
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
        return r.ok ? { result: { ok: true }, fields: { released: r.released, switched_at: at, paused_ms: suspendedAt === null ? null : at - suspendedAt } } : { result: r, fields: {} };
      }
      case 'rolling-back': {
        await this.steps.rebind(instance, source);
        const r = await this.steps.resume(instance, program.name);
        const at = now();
        return r.ok ? { result: { ok: true }, fields: { released: r.released, paused_ms: suspendedAt === null ? null : at - suspendedAt } } : { result: r, fields: {} };
      }
      default:
        return { result: { ok: true }, fields: {} };
    }
  }
}
