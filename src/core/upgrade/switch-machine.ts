/**
 * One instance's switch as persisted steps. Each state names the step to carry out next;
 * every step is idempotent (suspend, rebind, resume and the canary may safely run twice),
 * so after a crash the runner simply carries out the persisted state's step again.
 */
export const switchStates = [
  'scheduled',
  'prechecking',
  'suspending',
  'draining',
  'rebinding',
  'verifying',
  'resuming',
  'completed',
  'rolling-back',
  'rolled-back',
  'failed',
] as const;
export type SwitchState = (typeof switchStates)[number];

export const terminalStates: ReadonlySet<SwitchState> = new Set(['completed', 'rolled-back', 'failed']);

const happyPath: Partial<Record<SwitchState, SwitchState>> = {
  scheduled: 'prechecking',
  prechecking: 'suspending',
  suspending: 'draining',
  draining: 'rebinding',
  rebinding: 'verifying',
  verifying: 'resuming',
  resuming: 'completed',
  'rolling-back': 'rolled-back',
};

/** The state after carrying out `state`'s step; which step failed and why does not matter here. */
export function advance(state: SwitchState, result: { ok: boolean }): SwitchState {
  if (terminalStates.has(state)) return state;
  if (result.ok) return happyPath[state]!;
  // Resuming and rolling back restore sending; if they fail the operator must look.
  if (state === 'resuming' || state === 'rolling-back') return 'failed';
  return 'rolling-back';
}

/**
 * What to do with a switch found unfinished when its window has closed (after a crash or a
 * stall): a switch that never paused sending is simply not started; one whose target is
 * verified may finish; any other is rolled back, so no instance stays paused past its window.
 */
export function afterWindow(state: SwitchState): SwitchState {
  if (state === 'scheduled' || state === 'prechecking') return 'scheduled';
  if (state === 'resuming' || terminalStates.has(state)) return state;
  return 'rolling-back';
}
