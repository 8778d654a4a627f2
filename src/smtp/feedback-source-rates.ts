import { TokenBucket, type Rate } from '../core/delivery/throttle.ts';

/**
 * A token bucket per source address, for peers nobody vouches for. The map is bounded:
 * past `maxSources` the longest-unused source is forgotten (it starts full again, which
 * errs on the side of taking mail), so a flood from many addresses cannot exhaust memory.
 */
export class SourceRates {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: Rate,
    private readonly maxSources = 50_000,
  ) {}

  /** True when the source may go on now. */
  take(address: string, now: number): boolean {
    const key = address.replace(/^::ffff:(?=\d+\.)/i, '');
    let bucket = this.buckets.get(key);
    if (bucket) {
      // Re-inserted so the map's order is least recently used first.
      this.buckets.delete(key);
    } else {
      bucket = new TokenBucket(this.rate);
      while (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(key, bucket);
    return bucket.take(now) === 0;
  }

  get size(): number {
    return this.buckets.size;
  }
}
