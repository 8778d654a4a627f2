import type { Phase, ProgramState, WaveState } from './program.ts';
import { formatSwitchFailure, parseSwitchFailure, type StepResult, type SwitchFailure } from './switch-failure.ts';
import { advance, afterWindow, terminalStates, type SwitchState } from './switch-machine.ts';

/**
 * The upgrade lifecycle as pure transitions, `transition(state, event, now) → { state, effects }`,
 * for a program, one run of a wave and one run of a switch. The runner loads the records,
 * feeds in what it learns (a poll, a switch's end, a step's result), and carries out the
 * effects in order. A `persist-switch` is a compare-and-set on its `from` state: when
 * another runner got there first, the effects after it are dropped and the switch is left.
 */
export interface Transition<S, E> {
  state: S;
  effects: E[];
}

/** A wave as the lifecycle sees it. Generic code keeps the caller's fuller record (`W`). */
export interface WaveView {
  idx: number;
  phase: Phase;
  retry: boolean;
  start: number;
  end: number;
  state: WaveState;
  actualStart: number | null;
  actualEnd: number | null;
}

export type WaveChanges = Partial<Pick<WaveView, 'state' | 'actualStart' | 'actualEnd'>>;

type SetWave = { kind: 'set-wave'; idx: number; changes: WaveChanges };
type SetProgram = { kind: 'set-program'; state: ProgramState; haltedReason?: string };

/** The retry wave that takes `wave`'s rolled-back and missed switches: later, same phase; none for a retry wave itself. */
export function retryWaveFor<W extends WaveView>(waves: readonly W[], wave: WaveView): W | undefined {
  return wave.retry ? undefined : waves.find((w) => w.retry && w.phase === wave.phase && w.idx > wave.idx);
}

// --- program ---------------------------------------------------------------------------

/** `waves` in order of idx: they run one after the other. */
export interface ProgramView<W extends WaveView = WaveView> {
  state: ProgramState;
  waves: readonly W[];
}

export type ProgramEvent<W extends WaveView = WaveView> =
  /** Look at the waves: what is due now? */
  | { kind: 'poll' }
  /** A wave's run ended (the wave's own effects are already carried out). */
  | { kind: 'wave-ended'; wave: W };

export type ProgramEffect =
  | SetWave
  | SetProgram
  | { kind: 'notify-wave-started'; idx: number }
  | { kind: 'run-wave'; idx: number }
  | { kind: 'wait'; until: number };

export function programTransition<W extends WaveView>(program: ProgramView<W>, event: ProgramEvent<W>, now: number): Transition<ProgramView<W>, ProgramEffect> {
  if (event.kind === 'wave-ended') {
    const state = event.wave.state === 'halted' ? 'halted' : program.state;
    return { state: { state, waves: replaceWave(program.waves, event.wave) }, effects: [] };
  }
  if (program.state !== 'published' && program.state !== 'running') return { state: program, effects: [] };
  const wave = program.waves.find((w) => w.state !== 'completed');
  if (!wave) return { state: { ...program, state: 'completed' }, effects: [{ kind: 'set-program', state: 'completed' }] };
  // A halted wave waits for an operator to resume the program.
  if (wave.state === 'halted') return { state: program, effects: [] };
  // Found running (after a restart, or resumed): carried on, without a second "started" notice.
  // A crash between opening the wave and marking the program running is completed here.
  if (wave.state === 'running') {
    if (program.state === 'running') return { state: program, effects: [{ kind: 'run-wave', idx: wave.idx }] };
    return {
      state: { ...program, state: 'running' },
      effects: [
        { kind: 'set-program', state: 'running' },
        { kind: 'run-wave', idx: wave.idx },
      ],
    };
  }
  if (now < wave.start) return { state: program, effects: [{ kind: 'wait', until: wave.start }] };
  const opened: W = { ...wave, state: 'running', actualStart: now };
  const effects: ProgramEffect[] = [{ kind: 'set-wave', idx: wave.idx, changes: { state: 'running', actualStart: now } }];
  if (program.state !== 'running') effects.push({ kind: 'set-program', state: 'running' });
  // No "started" notice for a window that has already passed (the orchestrator was down).
  if (now <= wave.end) effects.push({ kind: 'notify-wave-started', idx: wave.idx });
  effects.push({ kind: 'run-wave', idx: wave.idx });
  return { state: { state: 'running', waves: replaceWave(program.waves, opened) }, effects };
}

function replaceWave<W extends WaveView>(waves: readonly W[], wave: W): W[] {
  return waves.map((w) => (w.idx === wave.idx ? wave : w));
}

// --- one run of a wave -------------------------------------------------------------------

/** `unfinished`: a switch could not be carried out (the store failed); the wave is looked at again at the next poll. */
export type WaveOutcome = 'completed' | 'halted' | 'stopped' | 'unfinished';

export interface WaveRun<W extends WaveView = WaveView> {
  wave: W;
  /** Where this wave's rolled-back and missed switches go; null when nowhere. */
  retryIdx: number | null;
  haltThreshold: number;
  /** Switches in the wave when the run began: the halt threshold is a fraction of these. */
  switches: number;
  failed: number;
  unfinished: number;
  /** Failures passed the threshold: no further switch starts, and the wave halts once those in progress end. */
  halting: boolean;
  ended: WaveOutcome | null;
}

export type WaveEvent =
  | { kind: 'switch-ended'; outcome: SwitchOutcome }
  | { kind: 'switch-unfinished' }
  /** No switch is left to start, or the runner stops; the switches in progress have ended. */
  | { kind: 'drained'; stopped: boolean };

export type WaveEffect = SetWave | SetProgram | { kind: 'notify-wave-finished'; idx: number };

export function waveRun<W extends WaveView>(wave: W, waves: readonly W[], switches: number, haltThreshold: number): WaveRun<W> {
  const retryIdx = retryWaveFor(waves, wave)?.idx ?? null;
  return { wave, retryIdx, haltThreshold, switches, failed: 0, unfinished: 0, halting: false, ended: null };
}

export function waveTransition<W extends WaveView>(run: WaveRun<W>, event: WaveEvent, now: number): Transition<WaveRun<W>, WaveEffect> {
  if (run.ended) return { state: run, effects: [] };
  switch (event.kind) {
    case 'switch-ended': {
      // A missed window is not the switch's failure: it never started.
      if (event.outcome !== 'rolled-back' && event.outcome !== 'failed') return { state: run, effects: [] };
      const failed = run.failed + 1;
      const halting = run.halting || (run.switches > 0 && failed / run.switches > run.haltThreshold);
      return { state: { ...run, failed, halting }, effects: [] };
    }
    case 'switch-unfinished':
      return { state: { ...run, unfinished: run.unfinished + 1 }, effects: [] };
    case 'drained': {
      if (event.stopped && !run.halting) return { state: { ...run, ended: 'stopped' }, effects: [] };
      const { idx } = run.wave;
      if (run.halting) {
        const reason = `wave ${idx}: ${run.failed} of ${run.switches} switches failed (threshold ${Math.round(run.haltThreshold * 100)}%)`;
        return {
          state: { ...run, wave: { ...run.wave, state: 'halted', actualEnd: now }, ended: 'halted' },
          effects: [
            { kind: 'set-wave', idx, changes: { state: 'halted', actualEnd: now } },
            { kind: 'set-program', state: 'halted', haltedReason: reason },
          ],
        };
      }
      if (run.unfinished > 0) return { state: { ...run, ended: 'unfinished' }, effects: [] };
      return {
        state: { ...run, wave: { ...run.wave, state: 'completed', actualEnd: now }, ended: 'completed' },
        effects: [
          { kind: 'set-wave', idx, changes: { state: 'completed', actualEnd: now } },
          { kind: 'notify-wave-finished', idx },
        ],
      };
    }
  }
}

// --- one run of a switch -----------------------------------------------------------------

/**
 * How a switch's run ended. `rolled-back` and `failed` count against the wave's halt
 * threshold; `missed-window` (moved on or failed without starting) and `already-ended`
 * (at an end before this run) do not.
 */
export type SwitchOutcome = 'completed' | 'rolled-back' | 'failed' | 'missed-window' | 'already-ended';

/** The wave a switch is run in. */
export interface SwitchWindow {
  idx: number;
  end: number;
  retryIdx: number | null;
}

export interface SwitchRun {
  state: SwitchState;
  waveIdx: number;
  attempts: number;
  suspendedAt: number | null;
  /** The failure that rolled it back or failed it; for a switch picked up after a restart, the stored one. */
  failure: SwitchFailure | null;
  window: SwitchWindow;
  ended: SwitchOutcome | null;
}

/** Where the instance was found before its switch starts. */
export type InstanceLocation = 'source' | 'target' | 'elsewhere';

export type SwitchEvent =
  /** Taken from the wave's queue: the window rules come first. */
  | { kind: 'pick-up' }
  /** `source` names the source infrastructure, for the failure of a switch found elsewhere. */
  | { kind: 'located'; on: InstanceLocation; source: string }
  /** The current state's step was carried out; `released` is what a resume let go. */
  | { kind: 'step-done'; result: StepResult<{ released?: number }> };

/** What a persisted step writes besides the state (the switch record's own names). */
export interface SwitchChanges {
  startedAt?: number;
  suspendedAt?: number;
  switchedAt?: number;
  pausedMs?: number | null;
  released?: number | null;
  error?: string;
  attempts?: number;
  waveIdx?: number;
}

export type SwitchEffect =
  | { kind: 'persist-switch'; from: SwitchState; to: SwitchState; changes: SwitchChanges; detail: string | null }
  | { kind: 'notify-rolled-back'; failure: SwitchFailure | null; retryIdx: number | null };

export function switchRun(
  sw: { state: SwitchState; waveIdx: number; attempts: number; suspendedAt: number | null; error: string | null },
  window: SwitchWindow,
): SwitchRun {
  const { state, waveIdx, attempts, suspendedAt } = sw;
  return { state, waveIdx, attempts, suspendedAt, failure: parseSwitchFailure(sw.error), window, ended: null };
}

const windowClosed: SwitchFailure = { step: 'window', detail: 'closed before the switch finished' };
const windowMissed: SwitchFailure = { step: 'window', detail: 'closed before the switch could start' };

export function switchTransition(run: SwitchRun, event: SwitchEvent, now: number): Transition<SwitchRun, SwitchEffect> {
  if (run.ended) return { state: run, effects: [] };
  if (terminalStates.has(run.state)) return { state: { ...run, ended: 'already-ended' }, effects: [] };
  switch (event.kind) {
    case 'pick-up':
      return pickUp(run, now);
    case 'located':
      return located(run, event.on, event.source, now);
    case 'step-done':
      return stepDone(run, event.result, now);
  }
}

function pickUp(run: SwitchRun, now: number): Transition<SwitchRun, SwitchEffect> {
  if (now <= run.window.end) return { state: run, effects: [] };
  // Never start a switch outside the window the customer was told about.
  if (run.state === 'scheduled') return missedWindow(run);
  const next = afterWindow(run.state);
  if (next === run.state) return { state: run, effects: [] };
  const closed: SwitchEffect = {
    kind: 'persist-switch',
    from: run.state,
    to: next,
    changes: { error: formatSwitchFailure(windowClosed) },
    detail: 'window closed',
  };
  const after = { ...run, state: next, failure: windowClosed };
  // It never paused sending: handled as a missed window, not started late.
  if (next !== 'scheduled') return { state: after, effects: [closed] };
  const missed = missedWindow(after);
  return { state: missed.state, effects: [closed, ...missed.effects] };
}

/** A scheduled switch whose window closed: to the retry wave if there is one, else failed. */
function missedWindow(run: SwitchRun): Transition<SwitchRun, SwitchEffect> {
  const { idx, retryIdx } = run.window;
  if (retryIdx !== null) {
    const detail = `window of wave ${idx} closed before it started; moved to retry wave ${retryIdx}`;
    return {
      state: { ...run, waveIdx: retryIdx, ended: 'missed-window' },
      effects: [{ kind: 'persist-switch', from: 'scheduled', to: 'scheduled', changes: { waveIdx: retryIdx }, detail }],
    };
  }
  return {
    state: { ...run, state: 'failed', failure: windowMissed, ended: 'missed-window' },
    effects: [{ kind: 'persist-switch', from: 'scheduled', to: 'failed', changes: { error: formatSwitchFailure(windowMissed) }, detail: 'missed its window' }],
  };
}

/** Moved by someone else since the plan: never pulled back to the source on a failure. */
function located(run: SwitchRun, on: InstanceLocation, source: string, now: number): Transition<SwitchRun, SwitchEffect> {
  if (run.state !== 'scheduled' || on === 'source') return { state: run, effects: [] };
  if (on === 'target') {
    return {
      state: { ...run, state: 'completed', ended: 'completed' },
      effects: [
        { kind: 'persist-switch', from: 'scheduled', to: 'completed', changes: { switchedAt: now, pausedMs: 0, released: 0 }, detail: 'already on the target' },
      ],
    };
  }
  const moved: SwitchFailure = { step: 'pre-check', detail: `instance is no longer on ${source}` };
  const error = formatSwitchFailure(moved);
  return {
    state: { ...run, state: 'failed', failure: moved, ended: 'failed' },
    effects: [{ kind: 'persist-switch', from: 'scheduled', to: 'failed', changes: { error }, detail: error }],
  };
}

function stepDone(run: SwitchRun, result: StepResult<{ released?: number }>, now: number): Transition<SwitchRun, SwitchEffect> {
  const from = run.state;
  const to = advance(from, result);
  // A failure while rolling back is the roll-back's, whichever of its steps it was.
  const failure: SwitchFailure | null = result.ok ? null : { step: from === 'rolling-back' ? 'roll-back' : result.step, detail: result.detail };
  const changes = failure ? { error: formatSwitchFailure(failure) } : stepChanges(run, result.ok ? (result.released ?? null) : null, now);
  const next: SwitchRun = {
    ...run,
    state: to,
    suspendedAt: changes.suspendedAt ?? run.suspendedAt,
    failure: failure ?? run.failure,
    ended: to === 'completed' || to === 'failed' || to === 'rolled-back' ? to : null,
  };
  const effects: SwitchEffect[] = [{ kind: 'persist-switch', from, to, changes, detail: changes.error ?? null }];
  if (to !== 'rolled-back') return { state: next, effects };
  const { retryIdx } = run.window;
  effects.push({ kind: 'notify-rolled-back', failure: next.failure, retryIdx });
  if (retryIdx === null) return { state: next, effects };
  const attempts = run.attempts + 1;
  effects.push({
    kind: 'persist-switch',
    from: 'rolled-back',
    to: 'scheduled',
    changes: { waveIdx: retryIdx, attempts },
    detail: `moved to retry wave ${retryIdx}`,
  });
  return { state: { ...next, state: 'scheduled', waveIdx: retryIdx, attempts }, effects };
}

/** What a step that succeeded records. */
function stepChanges(run: SwitchRun, released: number | null, now: number): SwitchChanges {
  const pausedMs = run.suspendedAt === null ? null : now - run.suspendedAt;
  switch (run.state) {
    case 'scheduled':
      return { startedAt: now };
    case 'suspending':
      return { suspendedAt: now };
    case 'resuming':
      return { released, switchedAt: now, pausedMs };
    case 'rolling-back':
      return { released, pausedMs };
    default:
      return {};
  }
}
