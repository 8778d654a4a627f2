import { createHash } from 'node:crypto';
import { DomainError } from '../core/errors.ts';
import { isUniqueViolation } from '../store/unique-violation.ts';
import type { IdempotencyClaim } from './accept-service.ts';

/** What the store kept of a request answered with a key. */
export interface StoredAnswer {
  requestHash: string;
  response: string;
}

/** The one read the protocol needs; the answer itself is written by the accepting commit. */
export interface IdempotencyKeys {
  find(instanceId: number, key: string): Promise<StoredAnswer | undefined>;
}

export interface Answer<T> {
  body: T;
  /** True when this is the stored answer of an earlier request with the same key. */
  replayed: boolean;
}

export const maxIdempotencyKeyLength = 255;

/**
 * The Idempotency-Key protocol: a request with a key runs once per instance and key. A
 * retry of the same request gets the first answer and sends nothing; the key with a
 * different request is refused (`idempotency-mismatch`); a retry while the first is still
 * running is a `conflict`. The answer is stored in the same transaction as the mail (see
 * AcceptService), so a key never exists without its mail nor mail without its key.
 */
export class Idempotency {
  /** Keys at work in this process; a race with another process is settled by the key's uniqueness. */
  private readonly inProgress = new Set<string>();

  constructor(private readonly keys: IdempotencyKeys) {}

  /** Runs `work` under `key` (none: just runs it); `request` is what must match on a retry. */
  async run<T>(instanceId: number, key: string | undefined, request: unknown, work: (claim?: IdempotencyClaim) => Promise<T>): Promise<Answer<T>> {
    if (key === undefined || key === '') return { body: await work(), replayed: false };
    if (key.length > maxIdempotencyKeyLength) throw new DomainError('invalid-request', `Idempotency-Key is longer than ${maxIdempotencyKeyLength} characters`);
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const earlier = await this.replay<T>(instanceId, key, requestHash);
    if (earlier) return earlier;
    const slot = `${instanceId}\u0000${key}`;
    if (this.inProgress.has(slot)) throw new DomainError('conflict', `a request with Idempotency-Key ${JSON.stringify(key)} is still in progress`);
    this.inProgress.add(slot);
    try {
      return { body: await work({ key, requestHash }), replayed: false };
    } catch (err) {
      // Another process committed the same key first: its answer stands, nothing is sent twice.
      const winner = isUniqueViolation(err) ? await this.replay<T>(instanceId, key, requestHash) : undefined;
      if (winner) return winner;
      throw err;
    } finally {
      this.inProgress.delete(slot);
    }
  }

  private async replay<T>(instanceId: number, key: string, requestHash: string): Promise<Answer<T> | undefined> {
    const seen = await this.keys.find(instanceId, key);
    if (!seen) return undefined;
    if (seen.requestHash !== requestHash)
      throw new DomainError('idempotency-mismatch', `Idempotency-Key ${JSON.stringify(key)} was used for a different request`);
    // Stored by the same route from a value of the same type (see SubmissionService).
    return { body: JSON.parse(seen.response) as T, replayed: true };
  }
}
