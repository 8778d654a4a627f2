/** What a periodic task logs: a run that threw. pino's Logger has it. */
export interface TaskLog {
  error(obj: object, msg: string): void;
}

export interface PeriodicTaskOptions {
  /** Named in the log line of a run that threw. */
  name: string;
  /** From the end of one run to the start of the next, unless the run returns another delay. */
  intervalMs: number;
  /** From `start()` to the first run (default: at once). */
  firstRunMs?: number;
  /**
   * How to wait between runs: real timers by default. The upgrade runner waits on its
   * Clock, so that warped time (simulate, tests) skips a day-long wait.
   */
  sleep?: (ms: number) => Promise<void>;
  /** Its timers do not keep the process alive (for loops whose timers were unref'd before). */
  unref?: boolean;
}

/**
 * What a run returns: the delay before the next run in ms (0: as soon as pending I/O has
 * had its turn), or nothing for `intervalMs`.
 */
export type TaskRun = () => Promise<number | void>;

/** Node fires a longer timeout after 1 ms instead. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * One background loop: runs `run` now and then, never two at once. `wake()` asks for a run
 * soon, and any number of wakes before that run starts share it; `stop()` resolves once
 * the run in progress has finished, and no run starts after it. A run that throws is
 * logged and the loop goes on.
 */
export class PeriodicTask {
  private loop: Promise<void> | null = null;
  private stopping = false;
  /** A wake came since the last run started: the next pause is skipped. */
  private woken = false;
  private wakeUp: (() => void) | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly run: TaskRun,
    private readonly log: TaskLog,
    private readonly options: PeriodicTaskOptions,
  ) {}

  /** Started and not asked to stop. */
  get running(): boolean {
    return this.loop !== null && !this.stopping;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.woken = false;
    this.loop = this.cycle();
  }

  /**
   * A run within `withinMs` (default: now). Wakes while a timed wake is pending join it, so
   * a burst of them (an accept per message) costs one run. Does nothing unless running.
   */
  wake(withinMs = 0): void {
    if (!this.running) return;
    if (withinMs > 0) {
      if (this.wakeTimer) return;
      this.wakeTimer = setTimeout(() => this.wakeNow(), withinMs);
      if (this.options.unref) this.wakeTimer.unref();
      return;
    }
    this.wakeNow();
  }

  /** Resolves when the run in progress, if any, has finished; none starts after. Not to be awaited from inside a run. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.clearWakeTimer();
    this.wakeUp?.();
    await this.loop;
    this.loop = null;
  }

  private wakeNow(): void {
    this.clearWakeTimer();
    this.woken = true;
    this.wakeUp?.();
  }

  private clearWakeTimer(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
  }

  private async cycle(): Promise<void> {
    let delay = this.options.firstRunMs ?? 0;
    for (;;) {
      await this.pause(delay);
      if (this.stopping) return;
      // Wakes from here on ask for the run after this one: this one may have read too early.
      this.woken = false;
      delay = this.options.intervalMs;
      try {
        const next = await this.run();
        if (typeof next === 'number') delay = next;
      } catch (err) {
        this.log.error({ err }, `${this.options.name} failed`);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    // A zero delay still yields, so back-to-back runs let sockets and timers have their turn.
    if (ms <= 0) return new Promise((resolve) => setImmediate(resolve));
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (this.wakeUp !== done) return; // already woken; a clock's sleep may end later
        if (timer) clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      this.wakeUp = done;
      if (this.options.sleep) {
        void this.options.sleep(ms).then(done, done);
      } else {
        timer = setTimeout(done, Math.min(ms, maxTimerMs));
        if (this.options.unref) timer.unref();
      }
    });
  }
}
