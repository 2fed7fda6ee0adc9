/**
 * Google's token-signing keys: RSA keys with a `kid`, published as X.509 certificates
 * (v1 certs) and as a JWKS (v3 certs). Rotation adds a key and signs with it; the old
 * key keeps being published until dropped, as Google does during a rollover.
 */
import { createHash, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { signJwt, type JwtClaims } from './jwt';
import { selfSignedCertificatePem } from './x509';

export interface RsaKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface Jwk {
  kid: string;
  kty: 'RSA';
  alg: 'RS256';
  use: 'sig';
  n: string;
  e: string;
}

export interface SigningKey extends RsaKeyPair {
  kid: string;
  certificatePem: string;
  jwk: Jwk;
}

const generateRsa = promisify(generateKeyPair);
const CERTIFICATE_VALID_DAYS = 14;

export async function generateRsaKeyPair(): Promise<RsaKeyPair> {
  return generateRsa('rsa', { modulusLength: 2048 });
}

export class SigningKeyRing {
  /** Oldest first; the last one signs. */
  private keys: SigningKey[] = [];

  async rotate(options: { dropOld?: boolean } = {}): Promise<SigningKey> {
    const key = await createSigningKey();
    this.keys = options.dropOld ? [key] : [...this.keys, key];
    return key;
  }

  get current(): SigningKey {
    const key = this.keys[this.keys.length - 1];
    if (!key) throw new Error('the key ring is empty: call rotate() first');
    return key;
  }

  find(kid: string): SigningKey | undefined {
    return this.keys.find((key) => key.kid === kid);
  }

  pemCertificates(): Record<string, string> {
    return Object.fromEntries(this.keys.map((key) => [key.kid, key.certificatePem]));
  }

  jwks(): { keys: Jwk[] } {
    return { keys: this.keys.map((key) => key.jwk) };
  }

  /** Signs with the current key; `kid` and `typ` can be overridden to build bad tokens in tests. */
  sign(claims: JwtClaims, header: { kid?: string; typ?: string } = {}): string {
    const key = this.current;
    return signJwt({ alg: 'RS256', kid: header.kid ?? key.kid, typ: header.typ ?? 'JWT' }, claims, key.privateKey);
  }
}

async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateRsaKeyPair();
  // Like Google's, the kid is a 40-hex-digit fingerprint of the public key.
  const kid = createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  const certificatePem = await selfSignedCertificatePem({
    commonName: 'accounts.google.com (emulator)',
    privateKey,
    publicKey,
    notBefore: new Date(),
    validDays: CERTIFICATE_VALID_DAYS,
  });
  const { n, e } = publicKey.export({ format: 'jwk' });
  if (!n || !e) throw new Error('RSA public key without modulus or exponent');
  return { kid, privateKey, publicKey, certificatePem, jwk: { kid, kty: 'RSA', alg: 'RS256', use: 'sig', n, e } };
}
