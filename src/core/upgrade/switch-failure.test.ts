import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSwitchFailure, parseSwitchFailure, stepFailed, switchSteps } from './switch-failure.ts';

test('every step survives the error column and back, details with colons included', () => {
  for (const step of switchSteps) {
    const failure = { step, detail: `127.0.0.1:2525: 421 4.3.2 try later: ${step}` };
    assert.deepEqual(parseSwitchFailure(formatSwitchFailure(failure)), failure);
  }
});

test('errors stored before steps were typed keep their step', () => {
  assert.deepEqual(parseSwitchFailure('pre-check: 10.0.0.1:25: connection refused'), { step: 'pre-check', detail: '10.0.0.1:25: connection refused' });
  assert.deepEqual(parseSwitchFailure('drain: 3 deliveries still in flight after 60000 ms'), {
    step: 'drain',
    detail: '3 deliveries still in flight after 60000 ms',
  });
  assert.equal(parseSwitchFailure('verify: canary refused by 10.0.0.1:25: 550 no')?.step, 'verify');
});

test('a text that names no step is no failure of one', () => {
  for (const text of [
    null,
    '',
    'the window closed before the switch could start',
    'window closed before the switch finished',
    'instance is no longer on blue',
    'verify:no space',
    'Verify: upper case',
    'constructor: x',
  ]) {
    assert.equal(parseSwitchFailure(text), null, String(text));
  }
});

test('stepFailed is a failed result', () => {
  assert.deepEqual(stepFailed('rebind', 'x'), { ok: false, step: 'rebind', detail: 'x' });
});
