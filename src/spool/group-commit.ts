/**
 * Collects writes that arrive while a commit is running and commits them together, so
 * many concurrent sessions share one fsync. Each caller's promise settles only after the
 * transaction holding its item is durable.
 */
export class GroupCommit<T> {
  private pending: { item: T; done: (err?: unknown) => void }[] = [];
  private running: Promise<void> | null = null;

  /**
   * `gatherMs`: how long the first item of a batch waits for others. 0 (a tick) where a
   * client waits for the answer; a few ms where nobody does (outcomes), for fewer fsyncs.
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly maxBatch = 500,
    private readonly gatherMs = 0,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.running) this.running = this.drain();
    });
  }

  /** Resolves once everything submitted so far is committed. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Let the other sessions of this tick join the first batch.
    await new Promise((r) => (this.gatherMs > 0 ? setTimeout(r, this.gatherMs) : setImmediate(r)));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
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
    this.running = null;
  }
}
