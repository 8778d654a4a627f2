/** Time source. Only the system implementation reads the real time, so tests and
 * `simulate` can run whole programs in accelerated time. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}
