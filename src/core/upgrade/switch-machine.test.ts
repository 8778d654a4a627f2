import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advance, afterWindow, switchStates, terminalStates, type SwitchState } from './switch-machine.ts';

const ok = { ok: true } as const;
const bad = { ok: false, step: 'verify', detail: 'x' } as const;

test('the happy path runs pre-check, suspend, drain, rebind, verify, resume', () => {
  const seen: SwitchState[] = ['scheduled'];
  while (!terminalStates.has(seen[seen.length - 1])) seen.push(advance(seen[seen.length - 1], ok));
  assert.deepEqual(seen, ['scheduled', 'prechecking', 'suspending', 'draining', 'rebinding', 'verifying', 'resuming', 'completed']);
});

for (const [state, expected] of [
  ['prechecking', 'rolling-back'],
  ['suspending', 'rolling-back'],
  ['draining', 'rolling-back'],
  ['rebinding', 'rolling-back'],
  ['verifying', 'rolling-back'],
  ['resuming', 'failed'],
  ['rolling-back', 'failed'],
] as const) {
  test(`a failed ${state} step leads to ${expected}`, () => {
    assert.equal(advance(state, bad), expected);
  });
}

test('a roll-back that succeeds ends rolled back', () => {
  assert.equal(advance('rolling-back', ok), 'rolled-back');
});

test('terminal states stay put', () => {
  for (const s of terminalStates) {
    assert.equal(advance(s, ok), s);
    assert.equal(advance(s, bad), s);
  }
});

test('every non-terminal state has a next step', () => {
  for (const s of switchStates) if (!terminalStates.has(s)) assert.ok(switchStates.includes(advance(s, ok)));
});

test('after the window, nothing stays paused', () => {
  assert.equal(afterWindow('scheduled'), 'scheduled');
  assert.equal(afterWindow('prechecking'), 'scheduled');
  for (const s of ['suspending', 'draining', 'rebinding', 'verifying'] as const) assert.equal(afterWindow(s), 'rolling-back');
  assert.equal(afterWindow('resuming'), 'resuming');
  assert.equal(afterWindow('completed'), 'completed');
});
