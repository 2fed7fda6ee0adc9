/** RS256 JSON Web Tokens: compact serialization, signing and signature checks. */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type JwtHeader = { alg: string; kid?: string; typ?: string };
export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function signJwt(header: JwtHeader, claims: JwtClaims, privateKey: KeyObject): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), privateKey))}`;
}

/** Parses without verifying; undefined when the string is not a JWT. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const [header, claims, signature, extra] = token.split('.');
  if (!header || !claims || signature === undefined || extra !== undefined) return undefined;
  try {
    const parsedHeader: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const parsedClaims: unknown = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8'));
    if (!isObject(parsedHeader) || typeof parsedHeader.alg !== 'string' || !isObject(parsedClaims)) return undefined;
    return {
      header: parsedHeader as JwtHeader,
      claims: parsedClaims,
      signingInput: `${header}.${claims}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

export function hasValidRs256Signature(jwt: DecodedJwt, publicKey: KeyObject | string): boolean {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return jwt.header.alg === 'RS256' && verify('sha256', Buffer.from(jwt.signingInput), key, jwt.signature);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
