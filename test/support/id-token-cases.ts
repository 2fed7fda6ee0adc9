/**
 * ID tokens every caller of the ID-token verifier must refuse with 401 `invalid_id_token`:
 * the OpenID Foundation's RP certification cases for ID tokens (bad signature, `kid` absent
 * or unknown, `alg` none and HS256 keyed with the client secret, `iss`/`aud`/`exp`/`iat`/`sub`
 * wrong or missing), malformed JSON parts, and google-auth-library's lifetime rule. Each is
 * an emulator override, so the same table drives `POST /authcode` (through a code's ID token)
 * and the bearer token of `POST /disconnect`.
 */
import type { IdTokenOverride } from '../../local/google-emulator';

const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

/** [what is wrong, the override for a token whose server client is `clientId`]. */
export const REJECTED_ID_TOKENS: [string, (clientId: string) => IdTokenOverride][] = [
  ['a bad signature', () => ({ tamper: 'signature' })],
  ['no kid', () => ({ tamper: 'no-kid' })],
  ['an unknown kid', () => ({ tamper: 'unknown-kid' })],
  ['alg none', () => ({ tamper: 'alg-none' })],
  ['HS256 signed with the client secret', () => ({ tamper: 'hs256-client-secret' })],
  ['a JSON null header', () => ({ tamper: 'null-header' })],
  ['a JSON null payload (validly signed)', () => ({ tamper: 'null-payload' })],
  ['a wrong iss', () => ({ claims: { iss: 'https://evil.example.com' } })],
  ['the RISC issuer (trailing slash)', () => ({ claims: { iss: 'https://accounts.google.com/' } })],
  ['no iss', () => ({ claims: { iss: undefined } })],
  ['a wrong aud', () => ({ claims: { aud: 'someone-else.apps.googleusercontent.com' } })],
  ['no aud', () => ({ claims: { aud: undefined } })],
  [
    'an aud array with an untrusted client',
    (clientId) => ({ claims: { aud: [clientId, 'untrusted.apps.googleusercontent.com'] } }),
  ],
  ['an expired token', () => ({ claims: { iat: now() - 7200, exp: now() - 3600 } })],
  ['no exp', () => ({ claims: { exp: undefined } })],
  ['an exp that is not a number', () => ({ claims: { exp: String(now() + 3600) } })],
  ['an iat in the future', () => ({ claims: { iat: now() + 3600, exp: now() + 7200 } })],
  ['no iat', () => ({ claims: { iat: undefined } })],
  ['no sub', () => ({ claims: { sub: undefined } })],
  ['an empty sub', () => ({ claims: { sub: '' } })],
  ['a lifetime of 30 days', () => ({ claims: { iat: now(), exp: now() + 30 * DAY } })],
  ['a lifetime over a day that ends within the hour', () => ({ claims: { iat: now() - DAY - 60, exp: now() + 1800 } })],
];
