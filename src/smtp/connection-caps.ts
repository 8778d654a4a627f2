/**
 * Open SMTP sessions, in all and per source address. A client past a cap is told so with
 * a 421 and closed by the caller, rather than left for the descriptor limit to drop.
 */
export type CapVerdict = { admitted: true; release: () => void } | { admitted: false; reason: 'connections' | 'connections-per-address' };

export class ConnectionCaps {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  admit(address: string): CapVerdict {
    const key = address.replace(/^::ffff:(?=\d+\.)/i, '');
    const mine = this.perAddress.get(key) ?? 0;
    if (this.total >= this.maxTotal) return { admitted: false, reason: 'connections' };
    if (mine >= this.maxPerAddress) return { admitted: false, reason: 'connections-per-address' };
    this.total++;
    this.perAddress.set(key, mine + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.perAddress.get(key) ?? 1) - 1;
        if (left > 0) this.perAddress.set(key, left);
        else this.perAddress.delete(key);
      },
    };
  }

  get open(): number {
    return this.total;
  }
}
