/**
 * Collects writes that arrive while a commit is running and commits them together, so
 * many concurrent sessions share one fsync. Each caller's promise settles only after the
 * transaction holding its item is durable.
 */
export class GroupCommit<T> {
  private pending: { item: T; done: (err?: unknown) => void }[] = [];
  private inFlight = 0;
  private gathering = false;
  private idle: (() => void)[] = [];

  /**
   * `gatherMs`: how long the first item of a batch waits for others. 0 (a tick) where a
   * client waits for the answer; a few ms where nobody does (outcomes), for fewer fsyncs.
   * `maxInFlight`: batches committing at once. More than one lets the next batch be written
   * while the previous one waits for the disk (the store serialises the writes themselves).
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly maxBatch = 500,
    private readonly gatherMs = 0,
    private readonly maxInFlight = 1,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far is committed. */
  flush(): Promise<void> {
    if (this.pending.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.gathering || this.pending.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.gathering = true;
    // Let the other sessions of this tick join the batch.
    const start = () => {
      this.gathering = false;
      while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
        this.inFlight++;
        void this.run(this.pending.splice(0, this.maxBatch)).finally(() => {
          this.inFlight--;
          this.schedule();
          if (this.pending.length === 0 && this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
      }
    };
    if (this.gatherMs > 0) setTimeout(start, this.gatherMs);
    else setImmediate(start);
  }

  private async run(batch: { item: T; done: (err?: unknown) => void }[]): Promise<void> {
    try {
      await this.commit(batch.map((p) => p.item));
      for (const p of batch) p.done();
    } catch (err) {
      // One bad item must not fail the others: retry them one by one.
      if (batch.length === 1) batch[0].done(err ?? new Error('commit failed'));
      else
        for (const p of batch)
          await this.commit([p.item]).then(
            () => p.done(),
            (e) => p.done(e ?? new Error('commit failed')),
          );
    }
  }
}
