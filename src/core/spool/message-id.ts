/** Time-ordered message ids: 12 hex digits of milliseconds, then randomness. */
export function newMessageId(now: number, random: () => string): string {
  return now.toString(16).padStart(12, '0') + random();
}
