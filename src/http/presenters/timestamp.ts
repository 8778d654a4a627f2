/** A stored epoch-milliseconds time as the API writes it: ISO 8601 in UTC (schema: Timestamp). */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
