import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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
    const pems = await selfSigned(options.hostname);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert);
  }
  // Made by an older version, or loosened by hand: the key is ours, so it is ours to tighten.
  chmodSync(keyPath, 0o600);
  return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/**
 * A self-signed certificate for `hostname`, made by a short-lived child process: the
 * certificate toolkit is large (loading it and making one certificate took 17 MB of RSS in
 * a bare Node process), an ES module stays in memory once loaded, and nothing but a first
 * start needs it.
 */
async function selfSigned(hostname: string): Promise<{ private: string; cert: string }> {
  const script = `
    const { default: selfsigned } = await import(process.argv[1]);
    const pems = await selfsigned.generate([{ name: 'commonName', value: process.argv[2] }], {
      keyType: 'ec',
      days: 825,
      extensions: [{ name: 'subjectAltName', altNames: [
        { type: 2, value: process.argv[2] }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' },
      ] }],
    });
    process.stdout.write(JSON.stringify({ private: pems.private, cert: pems.cert }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', script, import.meta.resolve('selfsigned'), hostname], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as { private: string; cert: string };
}
