import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  programTransition,
  retryWaveFor,
  switchRun,
  switchTransition,
  waveRun,
  waveTransition,
  type ProgramEffect,
  type ProgramView,
  type SwitchEffect,
  type SwitchOutcome,
  type SwitchRun,
  type SwitchWindow,
  type WaveOutcome,
  type WaveView,
} from './lifecycle.ts';
import type { ProgramState } from './program.ts';
import type { StepResult } from './switch-failure.ts';
import type { SwitchState } from './switch-machine.ts';

const hour = 3_600_000;
const now = Date.UTC(2024, 0, 1, 12);

function wave(idx: number, over: Partial<WaveView> = {}): WaveView {
  return { idx, phase: 'non-production', retry: false, start: now - hour, end: now + hour, state: 'scheduled', actualStart: null, actualEnd: null, ...over };
}

describe('a program, polled', () => {
  const started: ProgramEffect[] = [
    { kind: 'set-wave', idx: 1, changes: { state: 'running', actualStart: now } },
    { kind: 'set-program', state: 'running' },
    { kind: 'notify-wave-started', idx: 1 },
    { kind: 'run-wave', idx: 1 },
  ];
  const cases: { name: string; state?: ProgramState; waves: WaveView[]; effects: ProgramEffect[]; after?: ProgramState }[] = [
    { name: 'waits for a wave whose start has not come', waves: [wave(1, { start: now + 1 })], effects: [{ kind: 'wait', until: now + 1 }] },
    { name: 'opens a wave at its start, tells the customers, and runs it', waves: [wave(1, { start: now })], effects: started, after: 'running' },
    {
      name: 'marks a running program running only once',
      state: 'running',
      waves: [wave(1)],
      effects: started.filter((e) => e.kind !== 'set-program'),
      after: 'running',
    },
    { name: 'still tells the customers at the last moment of the window', waves: [wave(1, { end: now })], effects: started, after: 'running' },
    {
      name: 'sends no "started" notice for a window that has already passed',
      waves: [wave(1, { end: now - 1 })],
      effects: started.filter((e) => e.kind !== 'notify-wave-started'),
      after: 'running',
    },
    {
      name: 'carries on a wave found running after a restart, without a second notice',
      state: 'running',
      waves: [wave(1, { state: 'running', actualStart: now - hour })],
      effects: [{ kind: 'run-wave', idx: 1 }],
    },
    {
      name: 'marks the program running when a crash came between opening its wave and that',
      waves: [wave(1, { state: 'running', actualStart: now - hour })],
      effects: [
        { kind: 'set-program', state: 'running' },
        { kind: 'run-wave', idx: 1 },
      ],
      after: 'running',
    },
    {
      name: 'goes past completed waves to the next one',
      state: 'running',
      waves: [wave(1, { state: 'completed' }), wave(2, { start: now + hour })],
      effects: [{ kind: 'wait', until: now + hour }],
    },
    { name: 'does nothing past a halted wave', state: 'running', waves: [wave(1, { state: 'halted' }), wave(2)], effects: [] },
    {
      name: 'completes once all its waves are completed',
      state: 'running',
      waves: [wave(1, { state: 'completed' }), wave(2, { state: 'completed', retry: true })],
      effects: [{ kind: 'set-program', state: 'completed' }],
      after: 'completed',
    },
    { name: 'does nothing while halted', state: 'halted', waves: [wave(1)], effects: [] },
    { name: 'does nothing as a draft', state: 'draft', waves: [wave(1)], effects: [] },
    { name: 'does nothing once completed', state: 'completed', waves: [wave(1, { state: 'completed' })], effects: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const program: ProgramView = { state: c.state ?? 'published', waves: c.waves };
      const t = programTransition(program, { kind: 'poll' }, now);
      assert.deepEqual(t.effects, c.effects);
      assert.equal(t.state.state, c.after ?? program.state);
    });
  }

  it('keeps the opened wave running, with its actual start', () => {
    const t = programTransition({ state: 'published', waves: [wave(1), wave(2)] }, { kind: 'poll' }, now);
    assert.deepEqual(t.state.waves, [wave(1, { state: 'running', actualStart: now }), wave(2)]);
  });

  it('keeps the caller’s fuller wave records', () => {
    const t = programTransition({ state: 'published', waves: [{ ...wave(1), id: 41 }] }, { kind: 'poll' }, now);
    assert.equal(t.state.waves[0].id, 41);
  });

  it('after a wave completed, polls on to the next one', () => {
    const program: ProgramView = { state: 'running', waves: [wave(1, { state: 'running' }), wave(2)] };
    const ended = programTransition(program, { kind: 'wave-ended', wave: wave(1, { state: 'completed', actualEnd: now }) }, now);
    assert.deepEqual(ended.effects, []);
    assert.equal(ended.state.state, 'running');
    assert.deepEqual(programTransition(ended.state, { kind: 'poll' }, now).effects.at(-1), { kind: 'run-wave', idx: 2 });
  });

  it('is halted with its halted wave', () => {
    const program: ProgramView = { state: 'running', waves: [wave(1, { state: 'running' }), wave(2)] };
    const ended = programTransition(program, { kind: 'wave-ended', wave: wave(1, { state: 'halted' }) }, now);
    assert.equal(ended.state.state, 'halted');
    assert.deepEqual(programTransition(ended.state, { kind: 'poll' }, now).effects, []);
  });
});

describe('the retry wave of a wave', () => {
  const waves = [wave(1), wave(2), wave(3, { retry: true }), wave(4, { phase: 'production' }), wave(5, { phase: 'production', retry: true })];
  const cases: [idx: number, retryIdx: number | null][] = [
    [1, 3],
    [2, 3],
    [3, null], // a retry wave moves nothing on
    [4, 5],
    [5, null],
  ];
  for (const [idx, retryIdx] of cases) {
    it(`of wave ${idx} is ${retryIdx ?? 'none'}`, () => {
      const w = waves[idx - 1];
      assert.equal(retryWaveFor(waves, w)?.idx ?? null, retryIdx);
      assert.equal(waveRun(w, waves, 1, 0.5).retryIdx, retryIdx);
    });
  }

  it('is none for a retry wave, even with another after it', () => {
    const twice = [wave(1), wave(2, { retry: true }), wave(3, { retry: true })];
    assert.equal(retryWaveFor(twice, twice[0])?.idx, 2);
    assert.equal(retryWaveFor(twice, twice[1]), undefined);
  });

  it('lies in the same phase, after the wave', () => {
    assert.equal(retryWaveFor([wave(1, { retry: true }), wave(2), wave(3, { phase: 'production', retry: true })], wave(2)), undefined);
  });
});

describe('a wave run', () => {
  const failures = (switches: number, threshold: number, failed: number) => {
    let run = waveRun(wave(1, { state: 'running' }), [], switches, threshold);
    for (let i = 0; i < failed; i++) run = waveTransition(run, { kind: 'switch-ended', outcome: i % 2 ? 'failed' : 'rolled-back' }, now).state;
    return run;
  };
  const thresholds: [switches: number, threshold: number, failed: number, halting: boolean][] = [
    [10, 0.1, 1, false], // exactly at the threshold does not halt
    [10, 0.1, 2, true],
    [4, 0.5, 2, false],
    [4, 0.5, 3, true],
    [3, 0, 1, true],
    [3, 1, 3, false],
  ];
  for (const [switches, threshold, failed, halting] of thresholds) {
    it(`${failed} of ${switches} failed, threshold ${threshold}: ${halting ? 'halts' : 'goes on'}`, () => {
      const run = failures(switches, threshold, failed);
      assert.equal(run.failed, failed);
      assert.equal(run.halting, halting);
    });
  }

  const counted: [SwitchOutcome, boolean][] = [
    ['completed', false],
    ['rolled-back', true],
    ['failed', true],
    ['missed-window', false],
    ['already-ended', false],
  ];
  for (const [outcome, counts] of counted) {
    it(`a switch ended ${outcome} ${counts ? 'counts' : 'does not count'} against the threshold`, () => {
      const t = waveTransition(waveRun(wave(1), [], 1, 0), { kind: 'switch-ended', outcome }, now);
      assert.deepEqual(t.effects, []);
      assert.equal(t.state.failed, counts ? 1 : 0);
      assert.equal(t.state.halting, counts);
    });
  }

  const drained: { name: string; failed?: number; unfinished?: number; stopped?: boolean; ended: WaveOutcome }[] = [
    { name: 'completes', ended: 'completed' },
    { name: 'halts past the threshold', failed: 2, ended: 'halted' },
    { name: 'halts past the threshold while stopping', failed: 2, stopped: true, ended: 'halted' },
    { name: 'halts past the threshold with a switch unfinished', failed: 2, unfinished: 1, ended: 'halted' },
    { name: 'stays running when the runner stops', stopped: true, ended: 'stopped' },
    { name: 'stays running with a switch unfinished', unfinished: 1, ended: 'unfinished' },
  ];
  for (const c of drained) {
    it(`drained: ${c.name}`, () => {
      let run = failures(10, 0.1, c.failed ?? 0);
      for (let i = 0; i < (c.unfinished ?? 0); i++) run = waveTransition(run, { kind: 'switch-unfinished' }, now).state;
      const t = waveTransition(run, { kind: 'drained', stopped: c.stopped ?? false }, now);
      assert.equal(t.state.ended, c.ended);
      const expected = {
        completed: [
          { kind: 'set-wave', idx: 1, changes: { state: 'completed', actualEnd: now } },
          { kind: 'notify-wave-finished', idx: 1 },
        ],
        halted: [
          { kind: 'set-wave', idx: 1, changes: { state: 'halted', actualEnd: now } },
          { kind: 'set-program', state: 'halted', haltedReason: 'wave 1: 2 of 10 switches failed (threshold 10%)' },
        ],
        stopped: [],
        unfinished: [],
      }[c.ended];
      assert.deepEqual(t.effects, expected);
      assert.equal(t.state.wave.state, c.ended === 'completed' || c.ended === 'halted' ? c.ended : 'running');
    });
  }

  it('takes no event once ended', () => {
    const ended = waveTransition(waveRun(wave(1), [], 1, 0), { kind: 'drained', stopped: false }, now).state;
    const again = waveTransition(ended, { kind: 'drained', stopped: false }, now);
    assert.deepEqual(again, { state: ended, effects: [] });
  });
});

describe('a switch run', () => {
  const open: SwitchWindow = { idx: 1, end: now + hour, retryIdx: 3 };
  const closed = { ...open, end: now - 1 };
  const run = (state: SwitchState, window = open, over: Partial<SwitchRun> = {}): SwitchRun => ({
    ...switchRun({ state, waveIdx: 1, attempts: 0, suspendedAt: null, error: null }, window),
    ...over,
  });
  const persist = (from: SwitchState, to: SwitchState, changes: object, detail: string | null): SwitchEffect => ({
    kind: 'persist-switch',
    from,
    to,
    changes,
    detail,
  });
  const closing = (from: SwitchState, to: SwitchState) => persist(from, to, { error: 'window: closed before the switch finished' }, 'window closed');
  const toRetry = persist('scheduled', 'scheduled', { waveIdx: 3 }, 'window of wave 1 closed before it started; moved to retry wave 3');
  const missed = persist('scheduled', 'failed', { error: 'window: closed before the switch could start' }, 'missed its window');
  const noRetry = { ...closed, retryIdx: null };

  describe('picked up', () => {
    const cases: { state: SwitchState; window: SwitchWindow; effects: SwitchEffect[]; to: SwitchState; ended: SwitchOutcome | null }[] = [
      ...(['scheduled', 'prechecking', 'suspending', 'verifying', 'resuming', 'rolling-back'] as const).map((state) => ({
        state,
        window: open,
        effects: [],
        to: state,
        ended: null,
      })),
      { state: 'scheduled', window: { ...open, end: now }, effects: [], to: 'scheduled', ended: null },
      // Missed window: to the retry wave, or failed without one.
      { state: 'scheduled', window: closed, effects: [toRetry], to: 'scheduled', ended: 'missed-window' },
      { state: 'scheduled', window: noRetry, effects: [missed], to: 'failed', ended: 'missed-window' },
      // Unfinished when the window closed: never paused sending, so not started late...
      { state: 'prechecking', window: closed, effects: [closing('prechecking', 'scheduled'), toRetry], to: 'scheduled', ended: 'missed-window' },
      { state: 'prechecking', window: noRetry, effects: [closing('prechecking', 'scheduled'), missed], to: 'failed', ended: 'missed-window' },
      // ...paused: rolled back, so nothing stays paused past its window...
      ...(['suspending', 'draining', 'rebinding', 'verifying'] as const).map((state) => ({
        state,
        window: closed,
        effects: [closing(state, 'rolling-back')],
        to: 'rolling-back' as const,
        ended: null,
      })),
      // ...and one whose target is verified, or that is rolling back, goes on.
      { state: 'resuming', window: closed, effects: [], to: 'resuming', ended: null },
      { state: 'rolling-back', window: closed, effects: [], to: 'rolling-back', ended: null },
      ...(['completed', 'rolled-back', 'failed'] as const).map((state) => ({ state, window: closed, effects: [], to: state, ended: 'already-ended' as const })),
    ];
    for (const c of cases) {
      it(`${c.state}, window ${c.window.end > now ? 'open' : c.window.end === now ? 'at its last moment' : 'closed'}${c.window.retryIdx === null ? ', no retry wave' : ''}: ${c.to}`, () => {
        const t = switchTransition(run(c.state, c.window), { kind: 'pick-up' }, now);
        assert.deepEqual(t.effects, c.effects);
        assert.equal(t.state.state, c.to);
        assert.equal(t.state.ended, c.ended);
      });
    }

    it('rolled back for the window, it is told so', () => {
      const t = switchTransition(run('verifying', closed), { kind: 'pick-up' }, now);
      const back = switchTransition(t.state, { kind: 'step-done', result: { ok: true } }, now);
      assert.deepEqual(back.effects[1], { kind: 'notify-rolled-back', failure: { step: 'window', detail: 'closed before the switch finished' }, retryIdx: 3 });
    });
  });

  describe('located before it starts', () => {
    const cases: { state: SwitchState; on: 'source' | 'target' | 'elsewhere'; effects: SwitchEffect[]; ended: SwitchOutcome | null }[] = [
      { state: 'scheduled', on: 'source', effects: [], ended: null },
      {
        state: 'scheduled',
        on: 'target',
        effects: [persist('scheduled', 'completed', { switchedAt: now, pausedMs: 0, released: 0 }, 'already on the target')],
        ended: 'completed',
      },
      {
        state: 'scheduled',
        on: 'elsewhere',
        effects: [persist('scheduled', 'failed', { error: 'pre-check: instance is no longer on blue' }, 'pre-check: instance is no longer on blue')],
        ended: 'failed',
      },
      // Past its start, its own steps moved it.
      { state: 'verifying', on: 'target', effects: [], ended: null },
      { state: 'rolling-back', on: 'elsewhere', effects: [], ended: null },
    ];
    for (const c of cases) {
      it(`${c.state} on ${c.on === 'elsewhere' ? 'another infrastructure' : `the ${c.on}`}: ${c.ended ?? 'goes on'}`, () => {
        const t = switchTransition(run(c.state), { kind: 'located', on: c.on, source: 'blue' }, now);
        assert.deepEqual(t.effects, c.effects);
        assert.equal(t.state.ended, c.ended);
      });
    }
  });

  describe('a step done', () => {
    const ok = { ok: true } as const;
    const failed = (step: 'verify' | 'rebind' | 'resume') => ({ ok: false, step, detail: 'x' }) as const;
    const suspendedAt = now - 5000;
    const cases: { state: SwitchState; result: StepResult<{ released?: number }>; effect: SwitchEffect; ended: SwitchOutcome | null }[] = [
      { state: 'scheduled', result: ok, effect: persist('scheduled', 'prechecking', { startedAt: now }, null), ended: null },
      { state: 'prechecking', result: ok, effect: persist('prechecking', 'suspending', {}, null), ended: null },
      { state: 'suspending', result: ok, effect: persist('suspending', 'draining', { suspendedAt: now }, null), ended: null },
      { state: 'verifying', result: ok, effect: persist('verifying', 'resuming', {}, null), ended: null },
      {
        state: 'resuming',
        result: { ok: true, released: 4 },
        effect: persist('resuming', 'completed', { released: 4, switchedAt: now, pausedMs: 5000 }, null),
        ended: 'completed',
      },
      { state: 'verifying', result: failed('verify'), effect: persist('verifying', 'rolling-back', { error: 'verify: x' }, 'verify: x'), ended: null },
      { state: 'resuming', result: failed('resume'), effect: persist('resuming', 'failed', { error: 'resume: x' }, 'resume: x'), ended: 'failed' },
      // A failure while rolling back is the roll-back's.
      {
        state: 'rolling-back',
        result: failed('rebind'),
        effect: persist('rolling-back', 'failed', { error: 'roll-back: x' }, 'roll-back: x'),
        ended: 'failed',
      },
    ];
    for (const c of cases) {
      it(`${c.state}, ${c.result.ok ? 'done' : 'failed'}: ${c.effect.kind === 'persist-switch' ? c.effect.to : ''}`, () => {
        const t = switchTransition(run(c.state, open, { suspendedAt }), { kind: 'step-done', result: c.result }, now);
        assert.deepEqual(t.effects, [c.effect]);
        assert.equal(t.state.ended, c.ended);
      });
    }

    it('runs the happy path to completed, keeping when it paused sending', () => {
      let r = run('scheduled');
      const seen: SwitchState[] = [r.state];
      while (!r.ended) {
        r = switchTransition(r, { kind: 'step-done', result: { ok: true, released: 2 } }, r.state === 'suspending' ? now - 7000 : now).state;
        seen.push(r.state);
      }
      assert.deepEqual(seen, ['scheduled', 'prechecking', 'suspending', 'draining', 'rebinding', 'verifying', 'resuming', 'completed']);
      assert.equal(r.suspendedAt, now - 7000);
      assert.equal(r.ended, 'completed');
    });

    it('without a pause to measure, records none', () => {
      const t = switchTransition(run('resuming'), { kind: 'step-done', result: { ok: true, released: 0 } }, now);
      assert.deepEqual(t.effects, [persist('resuming', 'completed', { released: 0, switchedAt: now, pausedMs: null }, null)]);
    });

    it('rolled back: told so, and moved to the retry wave with one more attempt', () => {
      const t = switchTransition(
        run('rolling-back', open, { suspendedAt, failure: { step: 'verify', detail: 'x' } }),
        { kind: 'step-done', result: { ok: true, released: 1 } },
        now,
      );
      assert.deepEqual(t.effects, [
        persist('rolling-back', 'rolled-back', { released: 1, pausedMs: 5000 }, null),
        { kind: 'notify-rolled-back', failure: { step: 'verify', detail: 'x' }, retryIdx: 3 },
        persist('rolled-back', 'scheduled', { waveIdx: 3, attempts: 1 }, 'moved to retry wave 3'),
      ]);
      assert.deepEqual([t.state.state, t.state.waveIdx, t.state.attempts, t.state.ended], ['scheduled', 3, 1, 'rolled-back']);
    });

    it('rolled back in a retry wave: told so, and stays rolled back', () => {
      const t = switchTransition(run('rolling-back', { ...open, retryIdx: null }), { kind: 'step-done', result: { ok: true, released: 0 } }, now);
      assert.deepEqual(
        t.effects.map((e) => e.kind),
        ['persist-switch', 'notify-rolled-back'],
      );
      assert.deepEqual(t.effects[1], { kind: 'notify-rolled-back', failure: null, retryIdx: null });
      assert.deepEqual([t.state.state, t.state.waveIdx, t.state.ended], ['rolled-back', 1, 'rolled-back']);
    });

    it('found rolling back after a restart, rolls back for the failure stored before', () => {
      const picked = switchRun({ state: 'rolling-back', waveIdx: 1, attempts: 0, suspendedAt, error: 'drain: 3 deliveries still in flight' }, open);
      const t = switchTransition(picked, { kind: 'step-done', result: { ok: true, released: 0 } }, now);
      assert.deepEqual(t.effects[1], { kind: 'notify-rolled-back', failure: { step: 'drain', detail: '3 deliveries still in flight' }, retryIdx: 3 });
    });

    it('a stored error that names no step is no failure', () => {
      assert.equal(switchRun({ state: 'rolling-back', waveIdx: 1, attempts: 0, suspendedAt: null, error: 'vanished' }, open).failure, null);
    });

    it('takes no step once ended', () => {
      const ended = switchTransition(run('resuming'), { kind: 'step-done', result: { ok: true } }, now).state;
      assert.deepEqual(switchTransition(ended, { kind: 'step-done', result: { ok: true } }, now), { state: ended, effects: [] });
    });
  });
});
