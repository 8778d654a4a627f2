/**
 * Where a switch can fail: its steps (pre-check → suspend → drain → rebind → verify →
 * resume, or roll-back), `window`, the runner's own check that the announced window is
 * still open, and `sender-auth`, the part of the pre-check that finds the target could not
 * sign or pass SPF for the customer's domains. What a customer is told follows from the
 * step, never from a detail's words.
 */
export const switchSteps = ['pre-check', 'suspend', 'drain', 'rebind', 'verify', 'resume', 'roll-back', 'window', 'sender-auth'] as const;
export type SwitchStep = (typeof switchSteps)[number];

/** A failed step: which one, and what happened, for the operator (relays' addresses, replies). */
export interface SwitchFailure {
  step: SwitchStep;
  detail: string;
}

/** What carrying out one step returns; `T` is what a step that succeeded reports. */
export type StepResult<T extends object = object> = ({ ok: true } & T) | ({ ok: false } & SwitchFailure);

/** A failed step as a value. */
export function stepFailed(step: SwitchStep, detail: string): { ok: false } & SwitchFailure {
  return { ok: false, step, detail };
}

/**
 * The switch's stored error text, `<step>: <detail>`: what the error column held before
 * steps were typed (`pre-check: …`, `drain: …`, `verify: …`), so older rows read the same.
 */
export function formatSwitchFailure(failure: SwitchFailure): string {
  return `${failure.step}: ${failure.detail}`;
}

/**
 * A stored error text back as a failure, for a switch picked up after a restart. The step
 * is the text up to the first `: ` and must be one of `switchSteps`; anything else (an
 * error that is no step's, such as a switch that never started) is null.
 */
export function parseSwitchFailure(text: string | null): SwitchFailure | null {
  if (text === null) return null;
  const at = text.indexOf(': ');
  if (at < 0) return null;
  const step = text.slice(0, at);
  return isSwitchStep(step) ? { step, detail: text.slice(at + 2) } : null;
}

function isSwitchStep(s: string): s is SwitchStep {
  return (switchSteps as readonly string[]).includes(s);
}
