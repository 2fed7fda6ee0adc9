/**
 * Test hook for the code exchange: the ID token a code yields can carry claim overrides
 * or be deliberately broken, so a backend's verification can be exercised end to end.
 */
import { randomBytes } from 'node:crypto';
import { base64url, type JwtClaims } from '../jwt';
import type { SigningKeyRing } from '../signing-keys';

export interface IdTokenOverride {
  /** Merged over the claims Google would send (e.g. `aud`, `iss`, `exp`). */
  claims?: JwtClaims;
  /** `signature`: a signature that does not verify; `unknown-kid`: a kid no cert has; `alg-none`: unsigned. */
  tamper?: 'signature' | 'unknown-kid' | 'alg-none';
}

const TAMPER_KINDS: readonly unknown[] = ['signature', 'unknown-kid', 'alg-none'] satisfies IdTokenOverride['tamper'][];

/** Throws a RangeError for an override that is not one (e.g. from the control API's JSON). */
export function checkIdTokenOverride(override: IdTokenOverride): void {
  if (override.tamper !== undefined && !TAMPER_KINDS.includes(override.tamper)) {
    throw new RangeError(`idToken.tamper must be one of ${TAMPER_KINDS.join(', ')}`);
  }
  if (override.claims !== undefined && (typeof override.claims !== 'object' || override.claims === null)) {
    throw new RangeError('idToken.claims must be an object');
  }
}

export function signIdTokenWithOverride(keys: SigningKeyRing, claims: JwtClaims, override: IdTokenOverride): string {
  const merged = { ...claims, ...override.claims };
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
    default:
      return keys.sign(merged);
  }
}
