/**
 * The vault: access tokens for the company's own jobs (the token function). For a connected
 * user it answers an access token with at least `minValiditySeconds` left:
 *
 * - refusals come first and never call Google: a user not connected, one who must reconnect
 *   (with the reason), a scope the user did not grant;
 * - a cached token (envelope ciphertext under its own purpose, in `ACCESS#<user>`) is served
 *   while it is valid long enough;
 * - otherwise one caller — across every execution environment — takes the user's refresh
 *   lock (a conditional write) and refreshes through `GrantRefresher`, the worker's own path
 *   (rotation stored, dead grant marked the same way); the others wait briefly and re-read.
 *
 * Every answer is logged for audit (user, scopes, outcome, request id — never the token) and
 * counted by outcome.
 */
import { randomUUID } from 'node:crypto';
import type { GrantRefresher, Retrying } from './access-tokens';
import { CiphertextError, type TokenCipher } from './crypto/envelope';
import {
  InvalidRequestError,
  NeedsReconnectError,
  NotConnectedError,
  ScopeNotGrantedError,
  UpstreamUnavailableError,
  type AppError,
} from './errors';
import { toAppError, isTransient } from './failures';
import { revokedReason, standingOf } from './grant-standing';
import { describeError, logger } from './log';
import { sleep as defaultSleep, withRetries, type RetryPolicy } from './refresh/backoff';
import { rememberSecret } from './redact';
import type { AccessTokenCache, AccessTokenCacheEntry } from './store/access-token-cache';
import type { UserRecord, UserStore } from './store/users';

export const DEFAULT_MIN_VALIDITY_SECONDS = 300;
/** Google's access tokens live an hour: a caller cannot ask for more than half of it. */
export const MAX_MIN_VALIDITY_SECONDS = 1800;

/** The token function's event (DESIGN.md, "Access tokens for internal jobs"). */
export interface TokenRequest {
  userId: string;
  /** Default: every scope the user granted. */
  scopes?: string[];
  /** Default 300. */
  minValiditySeconds?: number;
}

export interface VendedToken {
  accessToken: string;
  /** ISO-8601. */
  expiresAt: string;
  /** The scopes the token carries (every scope the user granted; at least those asked for). */
  scopes: string[];
}

/** The token function's error codes; `internal_error` for anything unplanned. */
export type TokenErrorCode =
  | 'not_connected'
  | 'needs_reconnect'
  | 'scope_not_granted'
  | 'upstream_unavailable'
  | 'invalid_request'
  | 'internal_error';

export interface TokenError {
  error: TokenErrorCode;
  message: string;
  reason?: string;
}

export type TokenAnswer = VendedToken | TokenError;

/** How an answer came about: the audit log's and the metric's `outcome`. */
export type VendOutcome = 'cached' | 'refreshed' | TokenErrorCode;

/** The refusal for a record whose grant cannot be used (see lib/grant-standing.ts), else `undefined`. */
export function grantRefusal(record: UserRecord | undefined): AppError | undefined {
  const { status, reason } = standingOf(record);
  switch (status) {
    case 'active':
      return undefined;
    case 'not_connected':
      return new NotConnectedError('The user has never connected');
    case 'disconnected':
      return new NotConnectedError('The user disconnected', reason);
    case 'needs_reconnect':
      return reason === 'no_refresh_token'
        ? new NeedsReconnectError('No usable refresh token is stored; the user must sign in again with consent', reason)
        : new NeedsReconnectError(
            'Google no longer honours the grant; the user must sign in again',
            reason ?? 'revoked',
          );
  }
}

/** The record, when its grant can be used. @throws the refusal (see `grantRefusal`). */
function connected(record: UserRecord | undefined): UserRecord {
  const refusal = grantRefusal(record);
  if (refusal) throw refusal;
  return record as UserRecord;
}

/** The refusal for a grant this call just found dead. */
const deadGrant = (storedReason: string): NeedsReconnectError =>
  new NeedsReconnectError(
    'Google no longer honours the grant; the user must sign in again',
    revokedReason(storedReason),
  );

/** @throws InvalidRequestError naming what is wrong with the event. */
export function parseTokenRequest(event: unknown): Required<Omit<TokenRequest, 'scopes'>> & { scopes?: string[] } {
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new InvalidRequestError('The event must be an object { userId, scopes?, minValiditySeconds? }');
  const { userId, scopes, minValiditySeconds } = event as Record<string, unknown>;
  if (typeof userId !== 'string' || !userId.trim() || userId.length > 255)
    throw new InvalidRequestError('userId must be a non-empty string of at most 255 characters');
  if (
    scopes !== undefined &&
    (!Array.isArray(scopes) ||
      scopes.length === 0 ||
      scopes.length > 50 ||
      !scopes.every((scope) => typeof scope === 'string' && scope.length > 0 && scope.length <= 512))
  )
    throw new InvalidRequestError('scopes must be a non-empty array of scope strings');
  const minValidity = minValiditySeconds ?? DEFAULT_MIN_VALIDITY_SECONDS;
  if (
    typeof minValidity !== 'number' ||
    !Number.isInteger(minValidity) ||
    minValidity < 0 ||
    minValidity > MAX_MIN_VALIDITY_SECONDS
  )
    throw new InvalidRequestError(`minValiditySeconds must be an integer from 0 to ${MAX_MIN_VALIDITY_SECONDS}`);
  return {
    userId,
    minValiditySeconds: minValidity,
    ...(scopes ? { scopes: [...new Set(scopes as string[])] } : {}),
  };
}

export interface TokenVaultDependencies {
  users: Pick<UserStore, 'getUser'>;
  cache: AccessTokenCache;
  /** Envelope cipher under ACCESS_TOKEN_PURPOSE (never the refresh-token one). */
  accessTokens: Pick<TokenCipher, 'encrypt' | 'decrypt'>;
  grants: Pick<GrantRefresher, 'refresh'>;
  /** Counts one answer by outcome (a CloudWatch metric in Lambda). */
  countVend?: (outcome: VendOutcome) => void;
  /** How long a refresh lock holds (default 10 s): a crashed holder delays the others at most this. */
  lockMs?: number;
  /** How long a caller waits for another's refresh before answering `upstream_unavailable` (default 15 s). */
  maxWaitMs?: number;
  /** Re-read interval while waiting (default 100 ms, jittered). */
  pollMs?: number;
  /** Retries of Google and AWS steps within one call (default: 2 tries, short backoff). */
  retry?: RetryPolicy;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Assumed when Google's answer carries no expiry: shorter than its real hour, never longer. */
const FALLBACK_LIFETIME_MS = 50 * 60_000;

export class TokenVault {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly lockMs: number;
  private readonly maxWaitMs: number;
  private readonly pollMs: number;
  private readonly retry: RetryPolicy;
  /** Refreshes this environment runs right now, by user: callers here wait on them instead of polling. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: TokenVaultDependencies) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? defaultSleep;
    this.lockMs = deps.lockMs ?? 10_000;
    this.maxWaitMs = deps.maxWaitMs ?? 15_000;
    this.pollMs = deps.pollMs ?? 100;
    this.retry = deps.retry ?? { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 1_000 };
  }

  /**
   * The token function's answer to one event: a token or a documented error, never a throw.
   * Logged for audit and counted.
   */
  async answer(event: unknown, requestId?: string): Promise<TokenAnswer> {
    const audit = {
      userId:
        typeof (event as { userId?: unknown } | null)?.userId === 'string'
          ? (event as { userId: string }).userId
          : undefined,
      scopes: Array.isArray((event as { scopes?: unknown } | null)?.scopes)
        ? (event as { scopes: unknown[] }).scopes
        : undefined,
      ...(requestId ? { requestId } : {}),
    };
    try {
      const { token, outcome } = await this.vend(event);
      logger.info('access token vended', { ...audit, outcome, expiresAt: token.expiresAt });
      this.deps.countVend?.(outcome);
      return token;
    } catch (error) {
      const answer = tokenError(error);
      const unplanned = answer.error === 'internal_error' || answer.error === 'upstream_unavailable';
      logger[unplanned ? 'warn' : 'info']('access token refused', {
        ...audit,
        outcome: answer.error,
        ...(answer.reason ? { reason: answer.reason } : {}),
        ...(unplanned ? { error: describeError(error) } : {}),
      });
      this.deps.countVend?.(answer.error);
      return answer;
    }
  }

  /**
   * A token for `event`'s user. @throws InvalidRequestError, NotConnectedError,
   * NeedsReconnectError, ScopeNotGrantedError, UpstreamUnavailableError
   */
  async vend(event: unknown): Promise<{ token: VendedToken; outcome: 'cached' | 'refreshed' }> {
    const request = parseTokenRequest(event);
    const record = connected(await this.deps.users.getUser(request.userId));
    const scopes = request.scopes ?? record.grantedScopes;
    const missing = scopes.filter((scope) => !record.grantedScopes.includes(scope));
    if (missing.length) throw new ScopeNotGrantedError(missing);
    return this.freshToken(record, scopes, request.minValiditySeconds * 1000);
  }

  private async freshToken(
    record: UserRecord,
    scopes: readonly string[],
    minValidityMs: number,
  ): Promise<{ token: VendedToken; outcome: 'cached' | 'refreshed' }> {
    const { userId } = record;
    const giveUpAt = this.now() + this.maxWaitMs;
    for (;;) {
      const running = this.inFlight.get(userId);
      if (running) {
        await running.catch(() => undefined);
      }
      const entry = await this.deps.cache.get(userId);
      const cached = await this.usable(entry, record, scopes, minValidityMs);
      if (cached) return { token: cached, outcome: 'cached' };
      if (!running && !this.lockedByOther(entry)) {
        const owner = randomUUID();
        const locked = await this.deps.cache.acquireRefreshLock(userId, owner, this.lockMs, this.now());
        if (locked) {
          // Another caller may have stored a token between our read and the lock.
          const justStored = await this.usable(locked, record, scopes, minValidityMs);
          if (justStored) {
            await this.release(userId, owner);
            return { token: justStored, outcome: 'cached' };
          }
          const refresh = this.refreshUnderLock(userId, owner, scopes);
          this.inFlight.set(userId, refresh);
          try {
            return { token: await refresh, outcome: 'refreshed' };
          } finally {
            this.inFlight.delete(userId);
          }
        }
      }
      if (this.now() >= giveUpAt)
        throw new UpstreamUnavailableError('Another refresh of this user is taking too long; retry shortly', {
          retryAfterSeconds: 1,
        });
      if (!running) await this.sleep(this.pollMs / 2 + Math.random() * this.pollMs);
    }
  }

  private lockedByOther(entry: AccessTokenCacheEntry | undefined): boolean {
    return entry?.lockOwner !== undefined && (entry.lockExpiresAtMs ?? 0) > this.now();
  }

  /** The cached token, decrypted, if it is for this grant, covers the scopes and lives long enough. */
  private async usable(
    entry: AccessTokenCacheEntry | undefined,
    record: UserRecord,
    scopes: readonly string[],
    minValidityMs: number,
  ): Promise<VendedToken | undefined> {
    const token = entry?.token;
    if (!token) return undefined;
    // A newer sign-in voids it; a rotation stored after our read of the record does not.
    if (token.tokenVersion < record.tokenVersion) return undefined;
    if (token.expiresAtMs - this.now() < minValidityMs) return undefined;
    if (!scopes.every((scope) => token.scopes.includes(scope))) return undefined;
    let accessToken: string;
    try {
      accessToken = await this.retrying(() => this.deps.accessTokens.decrypt(token.ciphertext, record.userId));
    } catch (error) {
      // A cache entry nothing can decrypt is a miss: the refresh overwrites it.
      if (error instanceof CiphertextError) return undefined;
      throw error;
    }
    rememberSecret(accessToken);
    return { accessToken, expiresAt: new Date(token.expiresAtMs).toISOString(), scopes: token.scopes };
  }

  private async refreshUnderLock(userId: string, owner: string, scopes: readonly string[]): Promise<VendedToken> {
    let released = false;
    try {
      // Read again under the lock: a refresh just before ours may have rotated the stored token.
      const record = connected(await this.deps.users.getUser(userId));
      const grant = await this.deps.grants.refresh(record, (operation) => this.retrying(operation));
      switch (grant.status) {
        case 'revoked':
          throw deadGrant(grant.reason);
        case 'mark_failed':
          logger.warn('grant is dead but marking the user failed', { userId, error: describeError(grant.error) });
          throw deadGrant(grant.reason);
        case 'token_replaced':
          throw new UpstreamUnavailableError('The account changed during the refresh; retry', { retryAfterSeconds: 1 });
        case 'refreshed':
          break;
      }
      const { tokens, tokenVersion } = grant;
      const tokenScopes = tokens.scopes.length ? tokens.scopes : record.grantedScopes;
      const expiresAtMs = tokens.expiresAt ?? this.now() + FALLBACK_LIFETIME_MS;
      const ciphertext = await this.retrying(() => this.deps.accessTokens.encrypt(tokens.accessToken, userId));
      released = await this.retrying(() =>
        this.deps.cache.storeAndRelease(userId, owner, { ciphertext, expiresAtMs, scopes: tokenScopes, tokenVersion }),
      ).catch((error: unknown) => {
        // The token is good; only the next caller pays a refresh.
        logger.warn('could not cache the access token', { userId, error: describeError(error) });
        return false;
      });
      const missing = scopes.filter((scope) => !tokenScopes.includes(scope));
      // Google narrowed the grant since sign-in (the user removed a scope in their account).
      if (missing.length) throw new ScopeNotGrantedError(missing);
      return { accessToken: tokens.accessToken, expiresAt: new Date(expiresAtMs).toISOString(), scopes: tokenScopes };
    } finally {
      if (!released) await this.release(userId, owner);
    }
  }

  private async release(userId: string, owner: string): Promise<void> {
    await this.deps.cache.releaseLock(userId, owner).catch((error: unknown) =>
      // It expires by itself after lockMs.
      logger.warn('could not release the access-token lock', { userId, error: describeError(error) }),
    );
  }

  private retrying: Retrying = (operation) =>
    withRetries(operation, {
      policy: this.retry,
      isRetryable: isRetryableHere,
      now: this.now,
      sleep: this.sleep,
      onRetry: (error, attempt, delayMs) =>
        logger.debug('retrying after a transient failure', { attempt, delayMs, error: describeError(error) }),
    });
}

/** AWS SDK errors were already retried by the SDK; Google's clients never retry. */
function isRetryableHere(error: unknown): boolean {
  const fromAwsSdk = typeof error === 'object' && error !== null && '$metadata' in error;
  return isTransient(error) && !fromAwsSdk;
}

const ANSWERED_CODES = new Set<TokenErrorCode>([
  'not_connected',
  'needs_reconnect',
  'scope_not_granted',
  'upstream_unavailable',
  'invalid_request',
]);

/** The documented error answer for any failure: no stack, no token, no Google body. */
export function tokenError(error: unknown): TokenError {
  const app = toAppError(error);
  const code = app.code as TokenErrorCode;
  if (!ANSWERED_CODES.has(code)) return { error: 'internal_error', message: 'Internal error' };
  const json = app.toJSON() as { message: string; reason?: string };
  return { error: code, message: json.message, ...(json.reason ? { reason: json.reason } : {}) };
}
