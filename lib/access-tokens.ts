/**
 * The one code path that turns a stored grant into a fresh access token. The refresh
 * worker (before its offline jobs) and the token function (for the company's own jobs)
 * both go through `GrantRefresher.refresh`, so a rotated refresh token is stored, and a dead
 * grant is marked, the same way whoever asked.
 *
 * - decrypt the stored refresh token, use it in Google's refresh grant;
 * - a refresh token Google rotated is encrypted and stored, unless a newer sign-in replaced
 *   the record meanwhile (the newer token wins);
 * - `invalid_grant` (or a ciphertext nothing can decrypt) marks the user revoked, only if
 *   the token is still the one that died;
 * - a rotated token whose store fails after retries is NOT dropped: Google has already
 *   retired the old one, so losing the new one would force the user to reconnect. It is
 *   kept in this execution environment and retried on the user's next refresh here, which
 *   uses it (not the dead stored one) for the grant. Why not store it elsewhere: any other
 *   durable place is the same table, in the same outage. Why not revoke and mark the user:
 *   marking needs a write to that same table too, and it forces a reconnect every time,
 *   where keeping it forces one only if this environment dies before the table recovers.
 *
 * Retries are the caller's (the worker retries within its deadline, the token function
 * briefly): every step goes through the `retrying` wrapper it passes.
 */
import { CiphertextError, tokenHashes, type TokenCipher } from './crypto/envelope';
import { classifyGrantFailure, TESTING_MODE_EXPIRY_ADVICE } from './connection-status';
import { InvalidGrantError } from './errors';
import type { GoogleGateway, GoogleTokens } from './google/gateway';
import { describeError, logger } from './log';
import { rememberIssuedSecret } from './redact';
import type { Revocation, UserRecord, UserStore } from './store/users';

/** Runs one step, retrying it as the caller sees fit. */
export type Retrying = <T>(operation: () => Promise<T>) => Promise<T>;

export type GrantRefresh =
  /** `rotationPending`: Google rotated the refresh token and its store failed; it is kept here and retried. */
  | { status: 'refreshed'; tokens: GoogleTokens; tokenVersion: number; rotationPending: boolean }
  /** The grant is dead and the user is now marked revoked. */
  | { status: 'revoked'; reason: string }
  /** The grant died, but a newer refresh token was stored meanwhile: nothing was marked. */
  | { status: 'token_replaced' }
  /** The grant is dead, but marking the user failed (the next refresh finds it dead again). */
  | { status: 'mark_failed'; reason: string; error: unknown };

export interface GrantRefresherDependencies {
  store: Pick<UserStore, 'replaceRefreshToken' | 'markRevoked'>;
  cipher: Pick<TokenCipher, 'encrypt' | 'decrypt'>;
  oauth: Pick<GoogleGateway, 'refreshAccessToken'>;
  /** Awaited before every refresh grant (the Google rate limiter). */
  beforeGoogleRequest?: () => Promise<void>;
  now?: () => number;
}

/** A rotated refresh token not stored yet, and the stored token version it replaces. */
interface PendingRotation {
  refreshToken: string;
  replacesVersion: number;
}

const noRetry: Retrying = (operation) => operation();

export class GrantRefresher {
  private readonly now: () => number;
  /** Per execution environment: rotated tokens whose store failed, by user. */
  private readonly pendingRotations = new Map<string, PendingRotation>();

  constructor(private readonly deps: GrantRefresherDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Refreshes the grant of `record` (which must carry the stored ciphertext).
   * @throws whatever failed other than a dead grant (Google or AWS unavailable, `invalid_client`, ...)
   */
  async refresh(record: UserRecord, retrying: Retrying = noRetry): Promise<GrantRefresh> {
    const { userId } = record;
    let tokenVersion = record.tokenVersion;
    try {
      const pending = await this.takePendingRotation(record, retrying);
      if (pending?.stored) tokenVersion += 1;
      const refreshToken =
        pending?.refreshToken ?? (await retrying(() => this.deps.cipher.decrypt(this.ciphertextOf(record), userId)));
      const tokens = await retrying(async () => {
        await this.deps.beforeGoogleRequest?.();
        return this.deps.oauth.refreshAccessToken(refreshToken);
      });
      let rotationPending = pending !== undefined && !pending.stored;
      if (tokens.refreshToken && tokens.refreshToken !== refreshToken) {
        const stored = await this.storeRotatedToken(record, tokenVersion, tokens.refreshToken, retrying);
        if (stored === 'stored') tokenVersion += 1;
        rotationPending = stored === 'pending';
      }
      return { status: 'refreshed', tokens, tokenVersion, rotationPending };
    } catch (error) {
      if (error instanceof InvalidGrantError)
        return this.markRevoked(record, tokenVersion, this.grantRevocation(record, error), retrying);
      // Nothing will ever decrypt it: the user has to sign in again, like after a revocation.
      if (error instanceof CiphertextError)
        return this.markRevoked(record, tokenVersion, { reason: 'revoked', detail: 'undecryptable_token' }, retrying);
      throw error;
    }
  }

  /** Whether a rotated token of this user waits to be stored in this environment (tests, the CLI). */
  hasPendingRotation(userId: string): boolean {
    return this.pendingRotations.has(userId);
  }

  private ciphertextOf(record: UserRecord): Uint8Array {
    if (!record.refreshToken) throw new CiphertextError('No refresh token is stored for this user');
    return record.refreshToken;
  }

  /**
   * A rotated token kept from an earlier refresh, still newer than the record's: stored now
   * if the table lets us, and used for this grant either way (the stored one is dead).
   */
  private async takePendingRotation(
    record: UserRecord,
    retrying: Retrying,
  ): Promise<{ refreshToken: string; stored: boolean } | undefined> {
    const pending = this.pendingRotations.get(record.userId);
    if (!pending) return undefined;
    if (pending.replacesVersion !== record.tokenVersion) {
      // A sign-in, disconnect or revocation changed the record since: the record wins.
      this.pendingRotations.delete(record.userId);
      return undefined;
    }
    const outcome = await this.storeRotatedToken(record, record.tokenVersion, pending.refreshToken, retrying);
    if (outcome === 'replaced') return undefined;
    return { refreshToken: pending.refreshToken, stored: outcome === 'stored' };
  }

  /** Keeps a refresh token Google rotated, unless a newer sign-in replaced the record meanwhile. */
  private async storeRotatedToken(
    record: UserRecord,
    expectedVersion: number,
    refreshToken: string,
    retrying: Retrying,
  ): Promise<'stored' | 'replaced' | 'pending'> {
    const { userId } = record;
    rememberIssuedSecret(refreshToken);
    try {
      const ciphertext = await retrying(() => this.deps.cipher.encrypt(refreshToken, userId));
      const stored = await retrying(() =>
        this.deps.store.replaceRefreshToken(
          userId,
          expectedVersion,
          { ciphertext, ...tokenHashes(refreshToken) },
          new Date(this.now()),
        ),
      );
      this.pendingRotations.delete(userId);
      if (stored) {
        logger.info('rotated refresh token stored', { userId });
        return 'stored';
      }
      logger.info('rotated refresh token not stored: the record changed meanwhile (the newer token wins)', { userId });
      return 'replaced';
    } catch (error) {
      this.pendingRotations.set(userId, { refreshToken, replacesVersion: expectedVersion });
      logger.error('could not store a rotated refresh token; keeping it here and retrying on the next refresh', {
        userId,
        error: describeError(error),
      });
      return 'pending';
    }
  }

  /** Why Google refused the token: its error codes, and the token's age for Testing mode's 7-day expiry. */
  private grantRevocation(record: UserRecord, error: InvalidGrantError): Revocation {
    const storedAt = record.tokenStoredAt ? Date.parse(record.tokenStoredAt) : NaN;
    const tokenAgeMs = Number.isNaN(storedAt) ? undefined : this.now() - storedAt;
    const reason = classifyGrantFailure(error, tokenAgeMs);
    if (reason === 'testing_mode_expiry') {
      logger.warn(TESTING_MODE_EXPIRY_ADVICE, {
        userId: record.userId,
        reason,
        tokenAgeHours: Math.round((tokenAgeMs ?? 0) / 3_600_000),
      });
    }
    return { reason, detail: grantReason(error) };
  }

  private async markRevoked(
    record: UserRecord,
    tokenVersion: number,
    revocation: Revocation,
    retrying: Retrying,
  ): Promise<GrantRefresh> {
    const { userId } = record;
    // The contract's reason (`testing_mode_expiry`, `reauth_required`, ...): what callers pass on.
    const reason = revocation.reason;
    this.pendingRotations.delete(userId);
    try {
      const marked = await retrying(() =>
        this.deps.store.markRevoked(userId, revocation, new Date(this.now()), tokenVersion),
      );
      if (!marked) {
        logger.info('grant died, but a newer refresh token was stored meanwhile; keeping it', { userId });
        return { status: 'token_replaced' };
      }
    } catch (error) {
      return { status: 'mark_failed', reason, error };
    }
    logger.info('user marked revoked', { userId, reason, detail: revocation.detail });
    return { status: 'revoked', reason };
  }
}

const grantReason = (error: InvalidGrantError): string => {
  const code = error.googleErrorSubtype ? `${error.googleError}/${error.googleErrorSubtype}` : error.googleError;
  return error.reason ? `${code}: ${error.reason}` : String(code);
};
