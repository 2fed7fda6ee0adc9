/**
 * Test hook for the code exchange: the ID token a code yields can carry claim overrides
 * or be deliberately broken, so a backend's verification can be exercised end to end.
 */
import { createHmac, randomBytes, sign } from 'node:crypto';
import { base64url, signJwt, type JwtClaims } from '../jwt';
import type { SigningKeyRing } from '../signing-keys';

export interface IdTokenOverride {
  /** Merged over the claims Google would send (e.g. `aud`, `iss`, `exp`). */
  claims?: JwtClaims;
  /**
   * `signature`: a signature that does not verify; `unknown-kid`: a kid no cert has; `alg-none`:
   * unsigned; `no-kid`: signed by the current key, no `kid` in the header; `hs256-client-secret`:
   * HS256 keyed with the client secret (the algorithm-confusion attack); `null-header` /
   * `null-payload`: that part is JSON `null` (the other one and the signature are well formed).
   */
  tamper?: 'signature' | 'unknown-kid' | 'alg-none' | 'no-kid' | 'hs256-client-secret' | 'null-header' | 'null-payload';
}

const TAMPER_KINDS: readonly unknown[] = [
  'signature',
  'unknown-kid',
  'alg-none',
  'no-kid',
  'hs256-client-secret',
  'null-header',
  'null-payload',
] satisfies IdTokenOverride['tamper'][];

/** Throws a RangeError for an override that is not one (e.g. from the control API's JSON). */
export function checkIdTokenOverride(override: IdTokenOverride): void {
  if (override.tamper !== undefined && !TAMPER_KINDS.includes(override.tamper)) {
    throw new RangeError(`idToken.tamper must be one of ${TAMPER_KINDS.join(', ')}`);
  }
  if (override.claims !== undefined && (typeof override.claims !== 'object' || override.claims === null)) {
    throw new RangeError('idToken.claims must be an object');
  }
}

/** @param clientSecret the audience's secret, for `hs256-client-secret`. */
export function signIdTokenWithOverride(
  keys: SigningKeyRing,
  claims: JwtClaims,
  override: IdTokenOverride,
  clientSecret = '',
): string {
  const merged = { ...claims, ...override.claims };
  const rs256 = (header: string, payload: string) =>
    `${header}.${payload}.${base64url(sign('sha256', Buffer.from(`${header}.${payload}`), keys.current.privateKey))}`;
  switch (override.tamper) {
    case 'signature': {
      const [header, payload, signature = ''] = keys.sign(merged).split('.');
      const reversed = Buffer.from(signature, 'base64url').reverse();
      return `${header}.${payload}.${base64url(reversed)}`;
    }
    case 'unknown-kid':
      return keys.sign(merged, { kid: randomBytes(20).toString('hex') });
    case 'alg-none':
      return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(merged))}.`;
    case 'no-kid':
      return signJwt({ alg: 'RS256', typ: 'JWT' }, merged, keys.current.privateKey);
    case 'hs256-client-secret': {
      const input = `${base64url(JSON.stringify({ alg: 'HS256', kid: keys.current.kid, typ: 'JWT' }))}.${base64url(JSON.stringify(merged))}`;
      return `${input}.${base64url(createHmac('sha256', clientSecret).update(input).digest())}`;
    }
    case 'null-header':
      return rs256(base64url('null'), base64url(JSON.stringify(merged)));
    case 'null-payload':
      return rs256(base64url(JSON.stringify({ alg: 'RS256', kid: keys.current.kid, typ: 'JWT' })), base64url('null'));
    default:
      return keys.sign(merged);
  }
}
