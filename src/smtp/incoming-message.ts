import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { InflightBudget } from '../app/inflight-budget.ts';
import { DomainError } from '../core/errors.ts';

export interface IncomingOptions {
  budget: InflightBudget;
  /**
   * Bytes spilled to disk across sessions: the spool shares the volume, and a disk filled by
   * one tenant's uploads would fail every tenant's commits.
   */
  disk: InflightBudget;
  /** `<dataDir>/incoming`: where messages past `memoryBytes` are spilled while they arrive. */
  dir: string;
  /** A message up to this size stays in memory (if the budget has room for it as it comes). */
  memoryBytes: number;
}

/** A whole message, read into one Buffer under a reservation that `release` gives back. */
export interface LoadedMessage {
  raw: Buffer;
  release(): void;
}

/**
 * Receives one DATA stream without letting memory follow the number of clients: small
 * messages are kept in memory, each chunk reserved from the shared budget as it arrives;
 * the first chunk that passes `memoryBytes` or does not fit moves the message to a 0600
 * temp file, and its memory goes back to the budget. The message comes back into memory
 * only at the end, under a reservation of its full size (`load`).
 * Returns null when the stream ended over the size limit (`oversized`): its bytes are dropped.
 */
export async function receiveMessage(stream: Readable, options: IncomingOptions, oversized: () => boolean): Promise<IncomingMessage | null> {
  const message = new IncomingMessage(options);
  // A failure to store (disk full) must not end the stream early: smtp-server would answer
  // while the client is still sending, and the rest of the message would be read as commands.
  let failure: unknown = null;
  try {
    for await (const chunk of stream) {
      if (oversized() || failure) {
        await message.discard();
        continue;
      }
      await message.add(chunk as Buffer).catch((err: unknown) => (failure = err));
    }
  } catch (err) {
    // The client went away mid-message (smtp-server destroys the stream).
    await message.discard();
    throw err;
  }
  if (failure) {
    await message.discard();
    throw failure;
  }
  if (oversized()) {
    await message.discard();
    return null;
  }
  return message;
}

export class IncomingMessage {
  private chunks: Buffer[] = [];
  private held = 0;
  private size = 0;
  private file: { path: string; handle: FileHandle } | null = null;
  private onDisk = 0;
  private discarded = false;

  constructor(private readonly options: IncomingOptions) {}

  get bytes(): number {
    return this.size;
  }

  async add(chunk: Buffer): Promise<void> {
    if (this.discarded) return;
    this.size += chunk.length;
    if (!this.file && this.size <= this.options.memoryBytes && this.options.budget.tryReserve(chunk.length)) {
      this.held += chunk.length;
      this.chunks.push(chunk);
      return;
    }
    if (!this.file) await this.spill();
    this.takeDisk(chunk.length);
    await this.file!.handle.write(chunk);
  }

  private takeDisk(bytes: number): void {
    if (!this.options.disk.tryReserve(bytes)) throw new DomainError('server-busy', 'Too much mail in progress, try again later');
    this.onDisk += bytes;
  }

  /** Waits up to `waitMs` for room for the whole message; null when there was none in time. */
  async load(waitMs: number): Promise<LoadedMessage | null> {
    if (!this.file) {
      const raw = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
      this.chunks = [];
      return { raw, release: this.releaser(this.held) };
    }
    if (!(await this.options.budget.reserve(this.size, waitMs))) {
      await this.discard();
      return null;
    }
    const release = this.releaser(this.size);
    try {
      // One allocation of the exact size, outside Node's pooled slabs, so it is freed whole.
      const raw = Buffer.allocUnsafeSlow(this.size);
      let at = 0;
      while (at < this.size) {
        const { bytesRead } = await this.file.handle.read(raw, at, this.size - at, at);
        if (bytesRead === 0) throw new Error(`spilled message ${this.file.path} is shorter than received`);
        at += bytesRead;
      }
      return { raw, release };
    } catch (err) {
      release();
      throw err;
    } finally {
      await this.discard();
    }
  }

  /** Drops what was received: memory back to the budget, the temp file removed. */
  async discard(): Promise<void> {
    this.discarded = true;
    this.chunks = [];
    this.options.budget.release(this.held);
    this.held = 0;
    const file = this.file;
    this.file = null;
    if (file) {
      await file.handle.close().catch(() => undefined);
      await rm(file.path, { force: true });
    }
    this.options.disk.release(this.onDisk);
    this.onDisk = 0;
  }

  private async spill(): Promise<void> {
    const path = join(this.options.dir, `${process.pid}-${randomBytes(8).toString('hex')}.eml`);
    const handle = await open(path, 'wx+', 0o600);
    this.file = { path, handle };
    this.takeDisk(this.held);
    for (const c of this.chunks) await handle.write(c);
    this.chunks = [];
    this.options.budget.release(this.held);
    this.held = 0;
  }

  private releaser(bytes: number): () => void {
    this.held = 0;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.options.budget.release(bytes);
    };
  }
}

/**
 * Creates the spill directory (0700) and removes what a process that is gone left in it
 * (a crash mid-DATA). Files of live processes, this one included, are left alone.
 */
export function prepareIncomingDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of readdirSync(dir)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    const path = join(dir, name);
    const stale = !Number.isInteger(pid) || !isAlive(pid) || safeMtime(path) < dayAgo;
    if (stale && pid !== process.pid) rmSync(path, { force: true, recursive: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
