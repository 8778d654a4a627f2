import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DomainError } from '../core/errors.ts';
import type { DkimAlgorithm } from '../core/sender/sending-domain.ts';

/** A private key (PEM, PKCS#8) and the `p=` value of its DNS record. */
export interface KeyMaterial {
  algorithm: DkimAlgorithm;
  privateKey: string;
  publicKey: string;
}

export function generateKeyMaterial(algorithm: DkimAlgorithm, bits = 2048): KeyMaterial {
  if (algorithm === 'rsa' && (!Number.isInteger(bits) || bits < 1024 || bits > 4096 || bits % 8 !== 0)) {
    throw new DomainError('invalid-request', 'bits must be a multiple of 8 from 1024 to 4096 (2048 is the usual choice)');
  }
  const { privateKey } = algorithm === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: bits }) : generateKeyPairSync('ed25519');
  return material(privateKey);
}

/** An operator's existing key (PEM, PKCS#1 or PKCS#8): RSA of 1024 bits or more, or Ed25519. */
export function importKeyMaterial(pem: string): KeyMaterial {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new DomainError('invalid-request', 'privateKey must be a PEM private key (RSA or Ed25519)');
  }
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) {
    throw new DomainError('invalid-request', 'an RSA key must have at least 1024 bits');
  }
  return material(key);
}

/** The modulus length of an RSA key, for a rotation that keeps it. */
export function rsaBits(publicKey: string): number {
  const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
  return key.asymmetricKeyDetails?.modulusLength ?? 2048;
}

function material(privateKey: KeyObject): KeyMaterial {
  const type = privateKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ed25519') throw new DomainError('invalid-request', `a ${type} key cannot sign DKIM; use RSA or Ed25519`);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return {
    algorithm: type,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // RSA: the SubjectPublicKeyInfo (RFC 6376 §3.6.1); Ed25519: the bare 32-byte key (RFC 8463 §4.2).
    publicKey: (type === 'rsa' ? spki : spki.subarray(spki.length - 32)).toString('base64'),
  };
}
