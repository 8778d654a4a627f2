import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { domainToASCII } from 'node:url';
import { headerFieldLines, relaxedField, signatureField, unsignedSignatureField } from './dkim-header.ts';
import { listUnsubscribeFields } from './list-unsubscribe.ts';

const require = createRequire(import.meta.url);
// mailauth (CommonJS, no types for this part): its body canonicalization and hashing. The
// header side and the signing are ours: mailauth's signer cannot over-sign a field (list
// From once more than it occurs), and its header helpers weigh 23 MB (see dkim-header.ts).
const { dkimBody } = require('mailauth/lib/dkim/body') as {
  dkimBody(canonicalization: string, algorithm: string, maxBodyLength: false): { update(chunk: Buffer): void; digest(encoding: 'base64'): string };
};

/** A key to sign with: the sending domain (`d=`), its selector and the private key (PEM). */
export interface SigningKey {
  domain: string;
  selector: string;
  privateKey: string;
}

/**
 * The fields a signature covers, each once per occurrence; From once more than it occurs
 * (over-signed), so a second From added on the way breaks the signature.
 */
const signedFields = ['from', 'to', 'subject', 'date', 'message-id', ...listUnsubscribeFields.map((f) => f.toLowerCase())];
const overSigned = ['from'];

/**
 * crypto.sign with a callback: the private-key operation (an RSA-2048 signature takes about
 * 0.3 ms) runs in libuv's thread pool, not on the event loop every session shares.
 */
const signOffLoop = promisify(sign) as (algorithm: string | null, data: Buffer, key: KeyObject) => Promise<Buffer>;

/** Parsed private keys by PEM: parsing costs more than an Ed25519 signature. A handful of keys per node. */
const parsedKeys = new Map<string, KeyObject>();

function privateKeyOf(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (!key) {
    if (parsedKeys.size >= 1000) parsedKeys.clear();
    key = createPrivateKey(pem);
    parsedKeys.set(pem, key);
  }
  return key;
}

/**
 * The message with one DKIM-Signature per key on top (relaxed/relaxed; rsa-sha256 or
 * ed25519-sha256 from the key's type, RFC 8463). No keys: the message as it is.
 */
export async function dkimSign(raw: Buffer, keys: readonly SigningKey[], signedAt = Date.now()): Promise<Buffer> {
  if (keys.length === 0) return raw;
  const split = headerEnd(raw);
  const headerBlock = raw.subarray(0, split.header);
  const bodyHasher = dkimBody('relaxed', 'sha256', false);
  bodyHasher.update(raw.subarray(split.body));
  const bh = bodyHasher.digest('base64');
  const fields = headerFieldLines(headerBlock);
  // Bottom-up per name, as a verifier picks them (RFC 6376 §5.4.2).
  const lines: string[] = [];
  const names: string[] = [];
  for (const name of signedFields) {
    const present = fields.filter((f) => f.key === name).reverse();
    for (const f of present) {
      lines.push(`${relaxedField(f.line)}\r\n`);
      names.push(f.name);
    }
    if (overSigned.includes(name)) names.push(present[0]?.name ?? 'From');
  }
  const signatures = keys.map(async (key) => {
    const privateKey = privateKeyOf(key.privateKey);
    const algorithm = privateKey.asymmetricKeyType === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
    const tags = { a: algorithm, d: domainToASCII(key.domain) || key.domain, s: key.selector, t: Math.floor(signedAt / 1000), h: names.join(': '), bh };
    // The header as hashed: the signed fields, then this one with b= empty and no CRLF (RFC 6376 §3.7).
    const hashed = Buffer.from(lines.join('') + unsignedSignatureField(tags), 'latin1');
    const b =
      algorithm === 'rsa-sha256'
        ? await signOffLoop('sha256', hashed, privateKey)
        : await signOffLoop(null, createHash('sha256').update(hashed).digest(), privateKey);
    return signatureField(tags, b.toString('base64'));
  });
  return Buffer.concat([Buffer.from(`${(await Promise.all(signatures)).join('\r\n')}\r\n`), raw]);
}

/** Where the header block ends (before its blank line) and the body starts. */
function headerEnd(raw: Buffer): { header: number; body: number } {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { header: crlf + 2, body: crlf + 4 };
  if (lf >= 0) return { header: lf + 1, body: lf + 2 };
  return { header: raw.length, body: raw.length };
}
