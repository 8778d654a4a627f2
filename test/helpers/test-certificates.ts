import selfsigned from 'selfsigned';

type Options = NonNullable<Parameters<typeof selfsigned.generate>[1]>;

export interface TestCertificates {
  /** The test CA's certificate: what MAILSHIFT_TLS_CA_FILE points at. */
  ca: string;
  /** A server certificate for `host` (and `more` names), signed by the test CA. */
  signed(host: string, ...more: string[]): Promise<{ key: string; cert: string }>;
  /** A self-signed server certificate for `host`. */
  selfSigned(host: string): Promise<{ key: string; cert: string }>;
}

const server = (...hosts: string[]): Options =>
  ({
    keyType: 'ec',
    algorithm: 'sha256',
    days: 2,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((value) => ({ type: 2, value })) },
    ],
  }) as Options;

/** A throwaway certificate authority and server certificates, made in memory. */
export async function testCertificates(): Promise<TestCertificates> {
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'mailshift test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    days: 2,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  } as Options);
  return {
    ca: ca.cert,
    async signed(host, ...more) {
      const pems = await selfsigned.generate([{ name: 'commonName', value: host }], { ...server(host, ...more), ca: { key: ca.private, cert: ca.cert } });
      return { key: pems.private, cert: pems.cert };
    },
    async selfSigned(host) {
      const pems = await selfsigned.generate([{ name: 'commonName', value: host }], server(host));
      return { key: pems.private, cert: pems.cert };
    },
  };
}
