import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type selfsignedModule from 'selfsigned';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
}

/** The configured certificate, or a self-signed one made on first start and kept. */
export async function loadTls(options: { certPath?: string; keyPath?: string; dataDir: string; hostname: string }): Promise<TlsMaterial> {
  if (options.certPath && options.keyPath) {
    return { cert: readFileSync(options.certPath), key: readFileSync(options.keyPath) };
  }
  const dir = join(options.dataDir, 'tls');
  const certPath = join(dir, 'self-signed.crt');
  const keyPath = join(dir, 'self-signed.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    // Loaded only here, on a first start: its certificate toolkit is large and nothing else needs it.
    const selfsigned = (await import('selfsigned')).default;
    const pems = await selfsigned.generate([{ name: 'commonName', value: options.hostname }], {
      keyType: 'ec',
      days: 825,
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: options.hostname },
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    } as Parameters<typeof selfsignedModule.generate>[1]);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert);
  }
  // Made by an older version, or loosened by hand: the key is ours, so it is ours to tighten.
  chmodSync(keyPath, 0o600);
  return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
}
