import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { PeriodicTask, type TaskRun } from './periodic-task.ts';

function recorder() {
  const lines: { obj: object; msg: string }[] = [];
  return { lines, log: { error: (obj: object, msg: string) => void lines.push({ obj, msg }) } };
}

/** A run that counts its starts and overlaps, and takes `ms` of real time. */
function counted(ms: number) {
  const state = { starts: 0, ends: 0, active: 0, maxActive: 0 };
  const run: TaskRun = async () => {
    state.starts++;
    state.active++;
    state.maxActive = Math.max(state.maxActive, state.active);
    await delay(ms);
    state.active--;
    state.ends++;
  };
  return { state, run };
}

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(2);
  }
}

test('runs at once, then every interval, never two at once', async () => {
  const { state, run } = counted(15);
  const task = new PeriodicTask(run, recorder().log, { name: 't', intervalMs: 5 });
  task.start();
  task.start(); // a second start is no second loop
  await until(() => state.ends >= 4, 'four runs');
  for (let i = 0; i < 20; i++) task.wake();
  await delay(40);
  await task.stop();
  assert.equal(state.maxActive, 1, 'overlapping runs');
  assert.equal(state.starts, state.ends, 'a run left unfinished by stop');
});

test('the first run waits firstRunMs; a run may choose the next delay', async () => {
  const times: number[] = [];
  const t0 = Date.now();
  const task = new PeriodicTask(
    async () => {
      times.push(Date.now() - t0);
      return times.length === 1 ? 60 : 10_000;
    },
    recorder().log,
    { name: 't', intervalMs: 5, firstRunMs: 30 },
  );
  task.start();
  await until(() => times.length === 2, 'two runs');
  await task.stop();
  assert.ok(times[0] >= 25, `first run after ${times[0]} ms`);
  assert.ok(times[1] - times[0] >= 55, `second run ${times[1] - times[0]} ms after the first`);
});

test('wakes before a run share it, and a wake during a run asks for exactly one more', async () => {
  const { state, run } = counted(30);
  const task = new PeriodicTask(run, recorder().log, { name: 't', intervalMs: 60_000, firstRunMs: 60_000 });
  task.start();
  await delay(10);
  assert.equal(state.starts, 0, 'ran before its first delay');
  for (let i = 0; i < 50; i++) task.wake();
  await until(() => state.ends === 1, 'the woken run');
  await delay(60);
  assert.equal(state.starts, 1, 'the wakes before it asked for more than one run');
  task.wake();
  await until(() => state.active === 1, 'a second run in progress');
  // The run is in progress: wakes now must lead to one run right after it, not fifty.
  for (let i = 0; i < 50; i++) task.wake();
  await until(() => state.ends === 3, 'the run after the wakes');
  await delay(60);
  await task.stop();
  assert.equal(state.starts, 3);
});

test('wake(withinMs) coalesces a burst into one run within the delay', async () => {
  const { state, run } = counted(1);
  const task = new PeriodicTask(run, recorder().log, { name: 't', intervalMs: 60_000, firstRunMs: 60_000 });
  task.start();
  const t0 = Date.now();
  for (let i = 0; i < 100; i++) task.wake(20);
  await delay(5);
  assert.equal(state.starts, 0, 'a timed wake ran at once');
  await until(() => state.ends === 1, 'the timed wake');
  assert.ok(Date.now() - t0 >= 15);
  await delay(50);
  assert.equal(state.starts, 1, 'one run for the burst');
  // An immediate wake does not wait for a timed one already pending.
  task.wake(10_000);
  task.wake();
  await until(() => state.ends === 2, 'the immediate wake');
  await task.stop();
});

test('stop waits for the run in progress, and no run starts after it', async () => {
  const { state, run } = counted(80);
  const task = new PeriodicTask(run, recorder().log, { name: 't', intervalMs: 0 });
  task.start();
  await until(() => state.active === 1, 'a run in progress');
  const t0 = Date.now();
  await task.stop();
  assert.equal(state.active, 0, 'stop returned during a run');
  assert.ok(Date.now() - t0 >= 40, 'stop did not wait');
  const starts = state.starts;
  task.wake();
  await delay(30);
  assert.equal(state.starts, starts, 'a run after stop');
  assert.equal(task.running, false);
});

test('stop while waiting returns at once; stop before start does nothing', async () => {
  const idle = new PeriodicTask(async () => {}, recorder().log, { name: 't', intervalMs: 60_000 });
  await idle.stop();
  idle.start();
  await delay(5);
  const t0 = Date.now();
  await idle.stop();
  assert.ok(Date.now() - t0 < 50);
});

test('a run that throws is logged and the loop goes on', async () => {
  const { lines, log } = recorder();
  let runs = 0;
  const task = new PeriodicTask(
    async () => {
      runs++;
      if (runs <= 2) throw new Error(`boom ${runs}`);
    },
    log,
    { name: 'the test loop', intervalMs: 5 },
  );
  task.start();
  await until(() => runs >= 4, 'runs after the failures');
  await task.stop();
  assert.equal(lines.length, 2);
  assert.equal(lines[0].msg, 'the test loop failed');
  assert.match(String((lines[0].obj as { err: Error }).err.message), /boom 1/);
});

test('waits on the given sleep, and a wake cuts it short', async () => {
  const sleeps: number[] = [];
  let runs = 0;
  const task = new PeriodicTask(
    async () => {
      runs++;
      return 86_400_000;
    },
    recorder().log,
    {
      name: 't',
      intervalMs: 1,
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise(() => {});
      },
    },
  );
  task.start();
  await until(() => runs === 1 && sleeps.length === 1, 'the first run and its wait');
  assert.deepEqual(sleeps, [86_400_000]);
  task.wake();
  await until(() => runs === 2, 'the woken run');
  await task.stop();
});
