/** Google account profiles and the ID token claims built from them. */
import { createHash } from 'node:crypto';
import { SCOPES } from './scopes';

const GOOGLE_ISSUER = 'https://accounts.google.com';
const ID_TOKEN_LIFETIME_S = 3600;

export interface UserProfile {
  sub: string;
  email: string;
  emailVerified: boolean;
  name: string;
  givenName: string;
  familyName: string;
  picture: string;
  locale: string;
}

/** Sensible defaults derived from `sub`, so a test only has to name the user. */
export function profileWithDefaults(sub: string, overrides: Partial<UserProfile> = {}): UserProfile {
  const handle = sub.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  const definedOverrides = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return {
    sub,
    email: `${handle}@example.com`,
    emailVerified: true,
    name: `Test User ${sub}`,
    givenName: 'Test',
    familyName: `User ${sub}`,
    picture: `https://lh3.googleusercontent.com/a/${handle}=s96-c`,
    locale: 'en',
    ...definedOverrides,
  };
}

export interface IdTokenContext {
  profile: UserProfile;
  /** Email claims need the email scope, name and picture the profile scope (as at Google). */
  scopes: readonly string[];
  aud: string;
  azp: string;
  iatSeconds: number;
  /** Adds `at_hash` when the token is issued beside an access token. */
  accessToken?: string;
}

export function idTokenClaims(context: IdTokenContext): Record<string, unknown> {
  const { profile, scopes } = context;
  return {
    iss: GOOGLE_ISSUER,
    azp: context.azp,
    aud: context.aud,
    sub: profile.sub,
    ...(scopes.includes(SCOPES.email) ? { email: profile.email, email_verified: profile.emailVerified } : {}),
    ...(context.accessToken ? { at_hash: accessTokenHash(context.accessToken) } : {}),
    ...(scopes.includes(SCOPES.profile)
      ? {
          name: profile.name,
          picture: profile.picture,
          given_name: profile.givenName,
          family_name: profile.familyName,
          locale: profile.locale,
        }
      : {}),
    iat: context.iatSeconds,
    exp: context.iatSeconds + ID_TOKEN_LIFETIME_S,
  };
}

/** OpenID Connect `at_hash`: base64url of the left half of SHA-256(access token). */
function accessTokenHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
