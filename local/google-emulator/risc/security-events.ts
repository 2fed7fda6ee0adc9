/** Security Event Tokens (RFC 8417) as Google's Cross-Account Protection sends them. */
import { randomBytes } from 'node:crypto';
import { signJwt, type JwtClaims } from '../jwt';
import type { SigningKeyRing } from '../signing-keys';

export const RISC_ISSUER = 'https://accounts.google.com/';
export const EVENT_TYPES = {
  verification: 'https://schemas.openid.net/secevent/risc/event-type/verification',
  sessionsRevoked: 'https://schemas.openid.net/secevent/risc/event-type/sessions-revoked',
  tokensRevoked: 'https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked',
  tokenRevoked: 'https://schemas.openid.net/secevent/oauth/event-type/token-revoked',
  accountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  accountEnabled: 'https://schemas.openid.net/secevent/risc/event-type/account-enabled',
  credentialChangeRequired: 'https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required',
} as const;

export interface SecurityEventRequest {
  /** A client ID of the receiving project. */
  aud: string;
  /** Event type URI → event payload, e.g. `{ subject: { subject_type: 'iss-sub', iss, sub } }`. */
  events: Record<string, object>;
  jti?: string;
  iat?: number;
  exp?: number;
  iss?: string;
  /** Header `kid` override (the token is still signed with the current key). */
  kid?: string;
  /** Header `typ` override (default `secevent+jwt`, as RFC 8417 asks); `null` leaves it out. */
  typ?: string | null;
}

export function signSecurityEvent(keys: SigningKeyRing, request: SecurityEventRequest, nowSeconds: number): string {
  const claims: JwtClaims = {
    iss: request.iss ?? RISC_ISSUER,
    aud: request.aud,
    iat: request.iat ?? nowSeconds,
    jti: request.jti ?? randomBytes(16).toString('hex'),
    ...(request.exp === undefined ? {} : { exp: request.exp }),
    events: request.events,
  };
  if (request.typ === null)
    return signJwt({ alg: 'RS256', kid: request.kid ?? keys.current.kid }, claims, keys.current.privateKey);
  return keys.sign(claims, { kid: request.kid, typ: request.typ ?? 'secevent+jwt' });
}
