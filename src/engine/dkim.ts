import DKIM from 'nodemailer/lib/dkim';
import type { DkimKey } from '../core/fleet/fleet.ts';
import { checkMessage, headerValue } from '../core/spool/message-check.ts';

/** The infrastructure's key for the From domain (or a parent domain), if it has one. */
export function dkimKeyFor(keys: DkimKey[], raw: Buffer): DkimKey | undefined {
  if (keys.length === 0) return undefined;
  const checked = checkMessage(raw);
  if (!checked.ok) return undefined;
  const from = headerValue(checked.value.headers, 'from') ?? '';
  const m = /@([a-z0-9.-]+)\s*>?\s*$/i.exec(from);
  if (!m) return undefined;
  const labels = m[1].toLowerCase().split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const key = keys.find((k) => k.domain === labels.slice(i).join('.'));
    if (key) return key;
  }
  return undefined;
}

export async function dkimSign(raw: Buffer, key: DkimKey): Promise<Buffer> {
  const signer = new DKIM({ domainName: key.domain, keySelector: key.selector, privateKey: key.privateKey, cacheDir: false });
  const chunks: Buffer[] = [];
  for await (const chunk of signer.sign(raw)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
