import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed VERP return paths: `<prefix><delivery id, base36>-<signature>@<bounce domain>`,
 * e.g. `b-2n9c-0k3j5x7q9m2p4@bounces.example.net`.
 *
 * The signature is the first 64 bits of HMAC-SHA256(secret, "verp1:<id>"), written as 13
 * base-32 digits (0-9a-v). Every character is a lowercase letter, a digit or `-`, which any
 * MTA passes unchanged, and decoding ignores case because some MTAs lowercase (or uppercase)
 * local parts on the way back.
 */
export type VerpDecoded =
  | { kind: 'ok'; deliveryId: number; domain: string }
  /** Not shaped like one of our addresses (another prefix, garbage, a person's address). */
  | { kind: 'not-ours' }
  /** Shaped like ours but the signature does not match: guessed, tampered or from another cluster. */
  | { kind: 'bad-signature' };

export interface VerpOptions {
  /**
   * Signing secrets, newest first: addresses are signed with the first and checked against
   * all, so a secret can be rotated while bounces of mail signed with the old one still arrive.
   */
  secrets: readonly string[];
  /** Starts every local part; letters, digits, `.`, `-`, `=`; default `b-`. */
  prefix?: string;
}

const signatureDigits = 13; // ceil(64 / 5)
const maxIdDigits = Number.MAX_SAFE_INTEGER.toString(36).length; // 11
const prefixPattern = /^[a-z0-9](?:[a-z0-9.=-]*[a-z0-9=-])?$/;
const localPartLimit = 64;

export class VerpCodec {
  private readonly prefix: string;
  private readonly keys: readonly Buffer[];
  private readonly shape: RegExp;

  constructor(options: VerpOptions) {
    const prefix = (options.prefix ?? 'b-').toLowerCase();
    if (!prefixPattern.test(prefix)) throw new Error(`VERP prefix must be letters, digits, '.', '-' or '=', got ${JSON.stringify(options.prefix)}`);
    if (prefix.length + maxIdDigits + 1 + signatureDigits > localPartLimit)
      throw new Error(`VERP prefix too long: local parts must stay within ${localPartLimit} characters`);
    if (options.secrets.length === 0 || options.secrets.some((s) => s.length < 16)) throw new Error('VERP secrets must be at least 16 characters');
    this.prefix = prefix;
    this.keys = options.secrets.map((s) => Buffer.from(s, 'utf8'));
    this.shape = new RegExp(`^${escapeRegExp(prefix)}([0-9a-z]{1,${maxIdDigits}})-([0-9a-v]{${signatureDigits}})$`);
  }

  /** The envelope sender for one delivery at a bounce domain. */
  encode(deliveryId: number, bounceDomain: string): string {
    if (!Number.isSafeInteger(deliveryId) || deliveryId < 0) throw new Error(`delivery id must be a non-negative safe integer, got ${deliveryId}`);
    const id = deliveryId.toString(36);
    return `${this.prefix}${id}-${sign(this.keys[0], id)}@${bounceDomain.toLowerCase()}`;
  }

  decode(address: string): VerpDecoded {
    if (typeof address !== 'string' || address.length > 320) return { kind: 'not-ours' };
    const at = address.lastIndexOf('@');
    if (at <= 0 || at === address.length - 1) return { kind: 'not-ours' };
    const m = this.shape.exec(address.slice(0, at).toLowerCase());
    if (!m) return { kind: 'not-ours' };
    const [, id, signature] = m;
    const deliveryId = parseInt(id, 36);
    // Only the canonical spelling is signed, so "0a" cannot pass for "a".
    if (!Number.isSafeInteger(deliveryId) || deliveryId.toString(36) !== id) return { kind: 'not-ours' };
    const given = Buffer.from(signature);
    const valid = this.keys.some((key) => timingSafeEqual(Buffer.from(sign(key, id)), given));
    return valid ? { kind: 'ok', deliveryId, domain: address.slice(at + 1).toLowerCase() } : { kind: 'bad-signature' };
  }
}

function sign(key: Buffer, id: string): string {
  const mac = createHmac('sha256', key).update(`verp1:${id}`).digest();
  return mac.readBigUInt64BE(0).toString(32).padStart(signatureDigits, '0');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.=-]/g, (c) => `\\${c}`);
}
