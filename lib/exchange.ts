/**
 * The sign-in exchange (the seed's "exchange auth code for access token"): redeem the
 * one-time code at Google once, verify the ID token, store the profile and the refresh
 * token envelope-encrypted, and tell the app whether offline access is in place.
 */
import { createHash } from 'node:crypto';
import { AppError, InvalidIdTokenError, InvalidRequestError, UpstreamUnavailableError } from './errors';
import { toAppError } from './failures';
import { tokenHashes, type TokenCipher } from './crypto/envelope';
import type { GoogleGateway, GoogleTokens } from './google/gateway';
import type { IdTokenVerifier } from './google/token-verifier';
import { logger } from './log';
import { rememberSecret } from './redact';
import type { ExchangeLedger } from './store/exchange-ledger';
import type { UserRecord, UserStore } from './store/users';

export const MAX_AUTH_CODE_LENGTH = 512;
/** Client retries of one code within this window replay the first answer. */
const REPLAY_WINDOW_MS = 10 * 60_000;
/** How long a concurrent duplicate waits for the first request's answer. */
const DUPLICATE_WAIT_MS = 8_000;

export interface ExchangeResponse {
  userId: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  picture: string | null;
  locale: string | null;
  grantedScopes: string[];
  missingScopes: string[];
  offlineAccess: boolean;
  reason?: 'no_refresh_token' | 'missing_scopes';
}

export interface ExchangeDependencies {
  users: Pick<UserStore, 'saveSignIn'>;
  exchanges: ExchangeLedger;
  cipher: TokenCipher;
  oauth: Pick<GoogleGateway, 'redeemCode'>;
  idTokens: IdTokenVerifier;
  requiredScopes: readonly string[];
  /** The deployment's `GOOGLE_REDIRECT_URI`: used when a request names no `redirectUri`. */
  redirectUri: string;
  now?: () => number;
}

const SPENT_CODE = {
  code: 'invalid_grant',
  message: 'This code was already redeemed by an earlier request that failed; sign in again for a new code',
  status: 400,
} as const;

/** A replayable outcome of one code: the 200 body, or the error the first attempt ended with. */
type Outcome = { ok: ExchangeResponse } | { error: { code: AppError['code']; message: string; status: number } };

export function validateAuthCode(value: unknown): string {
  if (typeof value !== 'string' || !value.trim()) throw new InvalidRequestError('authCode is required');
  if (value.length > MAX_AUTH_CODE_LENGTH) {
    throw new InvalidRequestError(`authCode is longer than ${MAX_AUTH_CODE_LENGTH} characters`);
  }
  return value.trim();
}

/** The flows a code can come from: `''` an Android server auth code, `postmessage` the web popup code client. */
export const REDIRECT_URIS = ['', 'postmessage'] as const;
export type RedirectUri = (typeof REDIRECT_URIS)[number];

/**
 * The optional `redirectUri` field: `undefined` when absent (the deployment's
 * `GOOGLE_REDIRECT_URI` applies). @throws InvalidRequestError for any value but `''` or `postmessage`.
 */
export function validateRedirectUri(value: unknown): RedirectUri | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (REDIRECT_URIS as readonly string[]).includes(value)) return value as RedirectUri;
  throw new InvalidRequestError('redirectUri must be "" (Android) or "postmessage" (web popup code client)');
}

export class AuthCodeExchange {
  private readonly now: () => number;

  constructor(private readonly deps: ExchangeDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Exchanges a server auth code. The same code sent again within minutes gets the same
   * answer and Google sees it once, however many copies arrive at the same time.
   * @throws AppError with the contract's codes.
   */
  async exchange(authCode: string, options: { redirectUri?: string } = {}): Promise<ExchangeResponse> {
    rememberSecret(authCode);
    const redirectUri = options.redirectUri ?? this.deps.redirectUri;
    const codeHash = createHash('sha256').update(authCode).digest('base64url');
    const outcome = await this.claimOrReplay(codeHash, () => this.redeemAndStore(authCode, redirectUri));
    if ('ok' in outcome) return outcome.ok;
    // A replayed failure: the same code and message as the first attempt's answer.
    throw new AppError(outcome.error.code, outcome.error.message);
  }

  private async claimOrReplay(codeHash: string, run: () => Promise<ExchangeResponse>): Promise<Outcome> {
    const deadline = this.now() + DUPLICATE_WAIT_MS;
    for (;;) {
      const claim = await this.deps.exchanges.begin(codeHash, this.now(), REPLAY_WINDOW_MS);
      if (claim.claimed) return this.runClaimed(codeHash, run);
      const existing = claim.existing;
      if (existing?.status === 'done' && existing.response) return existing.response as Outcome;
      if (this.now() > deadline) {
        throw new UpstreamUnavailableError('This code is already being exchanged; retry shortly', {
          retryAfterSeconds: 2,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async runClaimed(codeHash: string, run: () => Promise<ExchangeResponse>): Promise<Outcome> {
    let outcome: Outcome;
    try {
      outcome = { ok: await run() };
    } catch (error) {
      // Google never redeemed the code (it was unreachable or busy): let the client retry it.
      if (error instanceof CodeNotRedeemed) {
        await this.deps.exchanges.abandon(codeHash);
        throw error.cause;
      }
      const failure = toAppError(error);
      if (failure.status >= 500) {
        // The code is spent but we could not finish. Never re-send it to Google: a retry is told,
        // as Google itself would, that this code is used up and a new sign-in is needed.
        await this.remember(codeHash, { error: SPENT_CODE });
        throw failure;
      }
      outcome = { error: { code: failure.code, message: failure.message, status: failure.status } };
    }
    await this.remember(codeHash, outcome);
    return outcome;
  }

  private async remember(codeHash: string, outcome: Outcome): Promise<void> {
    await this.deps.exchanges
      .complete(codeHash, outcome as unknown as Record<string, unknown>, this.now() + REPLAY_WINDOW_MS)
      .catch((error: unknown) => logger.warn('could not record exchange outcome', { error: String(error) }));
  }

  private async redeemAndStore(authCode: string, redirectUri: string): Promise<ExchangeResponse> {
    const { oauth, idTokens, requiredScopes } = this.deps;
    let tokens: GoogleTokens;
    try {
      tokens = await oauth.redeemCode(authCode, redirectUri);
    } catch (error) {
      if (error instanceof UpstreamUnavailableError) throw new CodeNotRedeemed(error);
      throw error;
    }
    if (!tokens.idToken) throw new InvalidIdTokenError('Google returned no ID token: request the openid scope');
    // No at_hash check: both tokens came together straight from Google's token endpoint over
    // TLS, where OIDC makes it optional; it guards flows that pass tokens through the browser.
    const claims = await idTokens.verify(tokens.idToken);

    const grantedScopes = tokens.scopes;
    const missingScopes = requiredScopes.filter((scope) => !grantedScopes.includes(scope));
    const record = await this.deps.users.saveSignIn({
      profile: {
        userId: claims.sub,
        emailVerified: claims.email_verified === true || (claims.email_verified as unknown) === 'true',
        ...definedStrings({
          email: claims.email,
          name: claims.name,
          givenName: claims.given_name,
          familyName: claims.family_name,
          picture: claims.picture,
          locale: claims.locale,
        }),
      },
      grantedScopes,
      ...(tokens.refreshToken
        ? {
            refreshToken: {
              ciphertext: await this.deps.cipher.encrypt(tokens.refreshToken, claims.sub),
              ...tokenHashes(tokens.refreshToken),
            },
          }
        : {}),
      now: new Date(this.now()),
    });
    logger.info('sign-in exchanged', {
      userId: claims.sub,
      newRefreshToken: Boolean(tokens.refreshToken),
      missingScopes,
    });
    return toResponse(record, missingScopes);
  }
}

/** Google was not reached or refused to work: the code is still unspent. */
class CodeNotRedeemed extends Error {
  constructor(override readonly cause: UpstreamUnavailableError) {
    super(cause.message);
  }
}

function toResponse(record: UserRecord, missingScopes: string[]): ExchangeResponse {
  const hasToken = record.status === 'active' && record.refreshToken !== undefined;
  const reason = !hasToken ? 'no_refresh_token' : missingScopes.length ? 'missing_scopes' : undefined;
  return {
    userId: record.userId,
    email: record.email ?? null,
    emailVerified: record.emailVerified,
    name: record.name ?? null,
    givenName: record.givenName ?? null,
    familyName: record.familyName ?? null,
    picture: record.picture ?? null,
    locale: record.locale ?? null,
    grantedScopes: record.grantedScopes,
    missingScopes,
    offlineAccess: reason === undefined,
    ...(reason ? { reason } : {}),
  };
}

function definedStrings(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
