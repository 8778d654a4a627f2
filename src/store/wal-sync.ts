import { open, type FileHandle } from 'node:fs/promises';

/**
 * fsyncs a SQLite write-ahead log from libuv's thread pool. SQLite's own fsync at COMMIT
 * (synchronous = FULL) runs on the event loop: every SMTP session and HTTP request waits
 * for the disk at each group commit, which costs most when clients open a connection per
 * message. Batches that commit with synchronous = NORMAL (no fsync of their own) wait here
 * instead, and the event loop goes on meanwhile.
 *
 * One fsync covers every frame written before it began, so callers share them: a caller
 * that arrives while one runs waits for the next, which starts as soon as it ends.
 */
export class WalSync {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** Kept open: SQLite keeps its write-ahead log (one inode) while the database is open. */
  private file: Promise<FileHandle> | null = null;

  constructor(
    private readonly walPath: string,
    private readonly databasePath: string,
  ) {}

  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.fsync().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    // Frames written now may have missed the running fsync: wait for one that starts later.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.sync();
      });
    return this.next;
  }

  /** Closes the log's file handle (the database closes after). */
  async close(): Promise<void> {
    const file = this.file;
    this.file = null;
    await (await file?.catch(() => null))?.close();
  }

  protected async fsync(): Promise<void> {
    this.file ??= open(this.walPath, 'r');
    try {
      await (await this.file).sync();
    } catch (err) {
      this.file = null;
      // No write-ahead log (nothing written yet): the database file holds everything.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const db = await open(this.databasePath, 'r');
      await db.sync().finally(() => db.close());
    }
  }
}
