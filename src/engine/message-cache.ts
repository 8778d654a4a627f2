export interface SpooledMessage {
  mailFrom: string;
  raw: Buffer;
  /** Each delivery carries one-click List-Unsubscribe, so each body differs. */
  listUnsubscribe?: boolean;
  /** Signed copies per infrastructure id (DKIM keys belong to infrastructures). */
  signed: Map<number, Promise<Buffer>>;
}

/**
 * Message bodies of claimed deliveries, loaded once however many recipients they have,
 * bounded by bytes (least recently used out first).
 */
export class MessageCache {
  private readonly entries = new Map<string, Promise<SpooledMessage | undefined>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly spool: { loadMessage(id: string): Promise<{ mailFrom: string; raw: Buffer; listUnsubscribe?: boolean } | undefined> },
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** A message just accepted: its first delivery need not read it back from the store. */
  prime(id: string, mailFrom: string, raw: Buffer, listUnsubscribe = false): void {
    if (this.entries.has(id)) return;
    this.entries.set(id, Promise.resolve({ mailFrom, raw, listUnsubscribe, signed: new Map() }));
    this.sizes.set(id, raw.length);
    this.bytes += raw.length;
    this.evict();
  }

  get(id: string): Promise<SpooledMessage | undefined> {
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    const loading: Promise<SpooledMessage | undefined> = this.spool.loadMessage(id).then((m) => {
      // Forgotten (or replaced) while it loaded: hand it to this caller without keeping it.
      const kept = this.entries.get(id) === loading;
      if (!m) {
        if (kept) this.entries.delete(id);
        return undefined;
      }
      if (!kept) return { mailFrom: m.mailFrom, raw: m.raw, listUnsubscribe: m.listUnsubscribe, signed: new Map() };
      this.sizes.set(id, m.raw.length);
      this.bytes += m.raw.length;
      this.evict();
      return { mailFrom: m.mailFrom, raw: m.raw, listUnsubscribe: m.listUnsubscribe, signed: new Map() };
    });
    this.entries.set(id, loading);
    return loading;
  }

  /** A message none of whose deliveries is held any more: its bytes go now, not when the cache is full. */
  forget(id: string): void {
    const size = this.sizes.get(id);
    this.entries.delete(id);
    if (size === undefined) return;
    this.sizes.delete(id);
    this.bytes -= size;
  }

  private evict(): void {
    for (const id of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) return;
      const size = this.sizes.get(id);
      if (size === undefined) continue;
      this.entries.delete(id);
      this.sizes.delete(id);
      this.bytes -= size;
    }
  }
}
