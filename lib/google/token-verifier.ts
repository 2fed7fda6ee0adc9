/**
 * The one verifier for the JWTs Google sends us: ID tokens (`POST /authcode`, and the bearer
 * token of `/disconnect` and `/connection`) and RISC security event tokens (`POST /risc`).
 *
 * `jose` does the cryptography and the registered claims: RS256 only, the `kid`'s key, `typ`,
 * `iss`, `aud`, `exp`/`iat` with clock tolerance. What Google's tokens need on top is two small
 * rule sets here (`IdTokenVerifier`, `SecurityEventTokenVerifier`). Google's keys come from
 * `GoogleKeySet`: fetched, imported once per key, cached, refetched on rotation within a
 * budget, and never "unverified" when Google cannot be reached (503 instead).
 *
 * Rejections are the caller's 4xx error with a short reason; they never echo the token.
 */
import {
  decodeJwt,
  importJWK,
  importX509,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import { GOOGLE_ISSUERS } from '../config';
import { InvalidIdTokenError, InvalidSecurityEventError, UpstreamUnavailableError, type AppError } from '../errors';
import { logger } from '../log';

/** The only algorithm Google signs ID tokens and security events with. */
const ALGORITHMS = ['RS256'];

/** google-auth-library's clock skew for ID tokens. */
export const ID_TOKEN_CLOCK_SKEW_SECONDS = 300;
/** google-auth-library refuses ID tokens living longer than a day; Google's live an hour. */
export const ID_TOKEN_MAX_LIFETIME_SECONDS = 86_400;
/**
 * How recent a sign-in must be for an ID token to authorize an account action (`/disconnect`,
 * `/connection`): a leaked token of the last hour should not be enough to end a user's grant.
 */
export const RECENT_SIGN_IN_SECONDS = 600;

// ---------------------------------------------------------------------------------------------
// Google's keys

/** How Google publishes its token-signing keys: `kid` → X.509 PEM (`/oauth2/v1/certs`) or a JWKS. */
export type KeyFormat = 'pem-certificates' | 'jwks';

export interface GoogleKeySetOptions {
  /** Seconds to cache keys when the response has no max-age (default 3600). */
  defaultMaxAgeSeconds?: number;
  /** Refetches that unknown kids may trigger per minute (default 5). */
  maxKidRefetchesPerMinute?: number;
  timeoutMs?: number;
  now?: () => number;
}

/** A token refused for a reason that is safe to show: it names a rule, never token content. */
class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

interface ImportedKey {
  /** What the key was imported from, so an unchanged key is not imported again on a refetch. */
  source: string;
  key: CryptoKey;
}

/** Google's signing keys at one URL, cached per the response's `Cache-Control: max-age`. */
export class GoogleKeySet {
  private keys = new Map<string, ImportedKey>();
  private expiresAt = 0;
  /** When recent unknown-kid refetches happened (at most `maxKidRefetchesPerMinute` kept). */
  private kidRefetches: number[] = [];
  private inflight: Promise<void> | undefined;
  private readonly options: Required<GoogleKeySetOptions>;

  /** @param url the keys' URL, or a function that finds it (the RISC discovery document). */
  constructor(
    private readonly url: string | (() => Promise<string>),
    private readonly format: KeyFormat,
    options: GoogleKeySetOptions = {},
  ) {
    this.options = {
      defaultMaxAgeSeconds: options.defaultMaxAgeSeconds ?? 3600,
      maxKidRefetchesPerMinute: options.maxKidRefetchesPerMinute ?? 5,
      timeoutMs: options.timeoutMs ?? 5000,
      now: options.now ?? Date.now,
    };
  }

  /**
   * jose's key resolver: the key the token header's `kid` names.
   * @throws TokenRejected for no or an unknown `kid`; UpstreamUnavailableError when the keys
   * cannot be fetched.
   */
  readonly resolve = async (header: JWSHeaderParameters): Promise<CryptoKey> => {
    if (typeof header.kid !== 'string' || !header.kid) throw new TokenRejected('token has no key id');
    const key = await this.getKey(header.kid);
    if (!key) throw new TokenRejected('token is signed with an unknown key');
    return key;
  };

  /**
   * The key for `kid`, or `undefined` when Google does not publish it even after one refetch.
   * @throws UpstreamUnavailableError when the keys cannot be fetched (fail closed).
   */
  async getKey(kid: string): Promise<CryptoKey | undefined> {
    const now = this.options.now();
    if (now >= this.expiresAt) await this.refresh();
    const known = this.keys.get(kid);
    if (known) return known.key;
    // Keys rotate: an unknown kid earns one refetch. A few per minute at most, so a flood of junk
    // kids cannot make us hammer Google, while one bad token cannot block a real rotation either.
    this.kidRefetches = this.kidRefetches.filter((at) => now - at < 60_000);
    if (this.kidRefetches.length >= this.options.maxKidRefetchesPerMinute) return undefined;
    this.kidRefetches.push(now);
    await this.refresh();
    return this.keys.get(kid)?.key;
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let body: unknown;
    let maxAge = this.options.defaultMaxAgeSeconds;
    try {
      const url = typeof this.url === 'string' ? this.url : await this.url();
      const response = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
      const match = /max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '');
      if (match?.[1]) maxAge = Number(match[1]);
    } catch (error) {
      throw unavailable(error);
    }
    const published = publishedKeys(body, this.format);
    if (!published) throw unavailable(new Error('the keys response is not a key set'));

    const keys = new Map<string, ImportedKey>();
    for (const { kid, source, importKey } of published) {
      const known = this.keys.get(kid);
      if (known?.source === source) {
        keys.set(kid, known);
        continue;
      }
      try {
        const key = await importKey();
        // jose refuses RSA keys under 2048 bits only when verifying, as a TypeError (a 500): refuse them here.
        if (((key.algorithm as { modulusLength?: number }).modulusLength ?? 0) < 2048) {
          throw new Error('RSA key shorter than 2048 bits');
        }
        keys.set(kid, { source, key });
      } catch (error) {
        // One unusable key must not take the others down: tokens naming it are simply refused.
        logger.warn('a published Google signing key could not be imported; ignoring it', {
          kid,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    this.keys = keys;
    this.expiresAt = this.options.now() + maxAge * 1000;
  }
}

function unavailable(error: unknown): UpstreamUnavailableError {
  return new UpstreamUnavailableError("Google's signing keys could not be fetched", {
    cause: error instanceof Error ? new Error(error.message) : undefined,
  });
}

interface PublishedKey {
  kid: string;
  source: string;
  importKey: () => Promise<CryptoKey>;
}

/** The RS256 keys of a certs response; `undefined` when the body is not a key set at all. */
function publishedKeys(body: unknown, format: KeyFormat): PublishedKey[] | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  if (format === 'pem-certificates') {
    return Object.entries(body)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([kid, pem]) => ({ kid, source: pem, importKey: () => importX509(pem, 'RS256') }));
  }
  const list = (body as { keys?: unknown }).keys;
  if (!Array.isArray(list)) return undefined;
  return list
    .filter(
      (jwk: unknown): jwk is JWK & { kid: string } =>
        typeof jwk === 'object' &&
        jwk !== null &&
        (jwk as JWK).kty === 'RSA' &&
        typeof (jwk as JWK).kid === 'string' &&
        ((jwk as JWK).alg ?? 'RS256') === 'RS256' &&
        ((jwk as JWK).use ?? 'sig') === 'sig',
    )
    .map((jwk) => ({
      kid: jwk.kid,
      source: `${jwk.n}.${jwk.e}`,
      importKey: async () => (await importJWK(jwk, 'RS256')) as CryptoKey,
    }));
}

// ---------------------------------------------------------------------------------------------
// The verification both token kinds share

interface RuleSet<T> {
  /** jose's checks: algorithms, typ, iss, aud, required claims, times. */
  options: JWTVerifyOptions;
  /** Our checks on the payload jose accepted. @throws TokenRejected */
  check(payload: JWTPayload): T;
  /** The caller's error for a refused token. */
  reject(reason: string): AppError;
}

async function verifyWithRules<T>(token: string, keys: GoogleKeySet, rules: RuleSet<T>): Promise<T> {
  try {
    const { payload } = await jwtVerify(token, keys.resolve, rules.options);
    return rules.check(payload);
  } catch (error) {
    const reason = rejectionReason(error);
    if (reason === undefined) throw error;
    throw rules.reject(reason);
  }
}

/**
 * Why a token was refused, or `undefined` when the error is not about the token (Google
 * unreachable, a bug). By error code, not class: jose's errors may come from another module
 * instance. jose's messages hold no token content, but ours are fixed strings regardless.
 */
function rejectionReason(error: unknown): string | undefined {
  if (error instanceof TokenRejected) return error.message;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, claim, reason } = error as { code?: unknown; claim?: unknown; reason?: unknown };
  const named = typeof claim === 'string' && /^\w{1,16}$/.test(claim) ? `"${claim}"` : 'a';
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token signature is invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'token algorithm must be RS256';
    case 'ERR_JWT_EXPIRED':
      return claim === 'iat' ? 'token was issued too long ago' : 'token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'typ') return 'token has the wrong type (typ)';
      return reason === 'missing' ? `token has no ${named} claim` : `token has an unacceptable ${named} claim`;
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JOSE_GENERIC':
      return 'token is malformed';
    default:
      return undefined;
  }
}

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

// ---------------------------------------------------------------------------------------------
// ID tokens

export interface IdTokenClaims {
  sub: string;
  /** The server client ID (also when the token's `aud` is an array of trusted clients). */
  aud: string;
  azp?: string;
  iss: string;
  iat: number;
  exp: number;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  locale?: string;
  at_hash?: string;
}

export interface IdTokenPolicy {
  /** The server client ID: the `aud` every ID token must carry. */
  audience: string;
  /** App client IDs accepted as `azp`; empty means any `azp` (or the audience itself). */
  allowedAzp: readonly string[];
  maxSkewSeconds?: number;
  now?: () => number;
}

export interface IdTokenCheck {
  /**
   * Refuse a token issued more than this many seconds ago (no skew added): account actions
   * pass `RECENT_SIGN_IN_SECONDS`. Default: only the token's own expiry applies.
   */
  maxAgeSeconds?: number;
}

/**
 * Google ID tokens, at least as strictly as google-auth-library's `verifyIdToken`: RS256 with a
 * key from Google's certificates, `iss` either of Google's spellings, `aud` the server client
 * (an array may hold only trusted clients), `exp` and `iat` within 300 s of skew, a lifetime of
 * at most a day, `sub` present — plus the `azp` allow-list, which google-auth-library lacks.
 */
export class IdTokenVerifier {
  constructor(
    private readonly keys: GoogleKeySet,
    private readonly policy: IdTokenPolicy,
  ) {}

  /** @throws InvalidIdTokenError (401) — or UpstreamUnavailableError (503) when Google's keys are unreachable. */
  verify(idToken: string, check: IdTokenCheck = {}): Promise<IdTokenClaims> {
    const { audience, allowedAzp } = this.policy;
    const skew = this.policy.maxSkewSeconds ?? ID_TOKEN_CLOCK_SKEW_SECONDS;
    const nowMs = (this.policy.now ?? Date.now)();
    const now = Math.floor(nowMs / 1000);
    return verifyWithRules(idToken, this.keys, {
      options: {
        algorithms: ALGORITHMS,
        issuer: GOOGLE_ISSUERS,
        audience,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: skew,
        // Also what makes jose refuse an `iat` in the future (beyond the skew).
        maxTokenAge: ID_TOKEN_MAX_LIFETIME_SECONDS,
        currentDate: new Date(nowMs),
      },
      reject: (reason) => new InvalidIdTokenError(`ID token rejected: ${reason}`),
      check: (payload) => {
        // jose has checked that these are numbers.
        const iat = payload.iat!;
        const exp = payload.exp!;
        if (!isNonEmptyString(payload.sub)) throw new TokenRejected('token has no subject');
        if (exp - iat > ID_TOKEN_MAX_LIFETIME_SECONDS) throw new TokenRejected('token lives longer than a day');
        // google-auth-library's own form of the rule, against our clock.
        if (exp >= now + ID_TOKEN_MAX_LIFETIME_SECONDS) throw new TokenRejected('token expires too far in the future');
        if (check.maxAgeSeconds !== undefined && now - iat > check.maxAgeSeconds) {
          throw new TokenRejected('token is not from a recent sign-in; sign in again');
        }
        const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
        if (audiences.some((entry) => entry !== audience && !allowedAzp.includes(entry as string))) {
          throw new TokenRejected('audience includes an untrusted client');
        }
        const azp = payload.azp;
        if (allowedAzp.length && azp !== undefined && azp !== audience && !allowedAzp.includes(azp as string)) {
          throw new TokenRejected('authorized party is not an allowed client');
        }
        return { ...(payload as unknown as IdTokenClaims), aud: audience };
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Security event tokens (RFC 8417), as Google's Cross-Account Protection pushes them

export interface SecurityEventToken {
  jti: string;
  iss: string;
  /** The audience entry that matched one of our client IDs. */
  aud: string;
  /** Issue time, epoch seconds. */
  iat: number;
  /** Event type URI → event payload. */
  events: Record<string, unknown>;
}

export interface SecurityEventPolicy {
  /** Our client IDs: the server's and the apps'. */
  audiences: readonly string[];
  issuer: string;
}

/**
 * RISC security event tokens: RS256 with a key from the JWKS the RISC configuration names,
 * `typ` `secevent+jwt`, `iss` the RISC issuer, `aud` one of our client IDs, `iat`, `jti` and
 * `events` present. `exp` is deliberately not checked: these tokens describe past events and
 * Google redelivers them for days.
 */
export class SecurityEventTokenVerifier {
  constructor(
    private readonly keys: GoogleKeySet,
    private readonly policy: SecurityEventPolicy,
  ) {}

  /**
   * @throws InvalidSecurityEventError (400) for a bad signature, unknown `kid`, wrong `typ`,
   * `iss` or `aud`, or missing claims; UpstreamUnavailableError (503) when the keys cannot be fetched.
   */
  verify(token: string): Promise<SecurityEventToken> {
    const { audiences, issuer } = this.policy;
    return verifyWithRules(token, this.keys, {
      options: {
        algorithms: ALGORITHMS,
        typ: 'secevent+jwt',
        issuer,
        audience: [...audiences],
        requiredClaims: ['iat', 'jti', 'events'],
        // jose has no switch to skip `exp`: it judges the token's times as of the event's own
        // issue time instead, so an old event stays valid while `exp` before `iat` does not.
        currentDate: issuedAt(token),
      },
      reject: (reason) => new InvalidSecurityEventError(`Security event token rejected: ${reason}`),
      check: (payload) => {
        if (!isNonEmptyString(payload.jti)) throw new TokenRejected('token has no jti');
        const events = payload.events;
        if (typeof events !== 'object' || events === null || Array.isArray(events) || !Object.keys(events).length) {
          throw new TokenRejected('token carries no events');
        }
        // jose has checked that iat is a number; the receiver compares it with dates.
        if (!Number.isFinite(new Date(payload.iat! * 1000).getTime()))
          throw new TokenRejected('token has no usable iat');
        const tokenAudiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
        return {
          jti: payload.jti,
          iss: issuer,
          // jose has checked that one of them is ours.
          aud: tokenAudiences.find((entry) => audiences.includes(entry as string))!,
          iat: payload.iat!,
          events: events as Record<string, unknown>,
        };
      },
    });
  }
}

/** The unverified `iat` as a date, when there is a usable one (jose verifies it after). */
function issuedAt(token: string): Date | undefined {
  let iat: unknown;
  try {
    iat = decodeJwt(token).iat;
  } catch {
    return undefined; // jose refuses the token itself, with a reason
  }
  const date = typeof iat === 'number' ? new Date(iat * 1000) : undefined;
  return date && Number.isFinite(date.getTime()) ? date : undefined;
}
