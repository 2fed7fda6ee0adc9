/**
 * One user's refresh, under a lease: decrypt the stored refresh token, get a fresh access
 * token, keep a rotated refresh token, run the offline jobs, record the outcome.
 *
 * - The lease (a conditional write) keeps overlapping runs off the user; it is released
 *   when the work ends, so the next cycle processes the user again.
 * - A user refreshed since the message's cycle is skipped: a redelivered message does not
 *   refresh its other users twice.
 * - `invalid_grant` (or a ciphertext nothing can decrypt) marks the user revoked, only if
 *   the token is still the one that died, and is never retried.
 * - Transient Google failures (429/5xx/timeouts) are retried here, with full-jitter backoff,
 *   and nowhere else; AWS throttling is retried by the SDK alone. Once exhausted the outcome
 *   is `retryable`, so the worker hands the message back to SQS.
 */
import { CiphertextError, tokenHashes, type TokenCipher } from '../crypto/envelope';
import { InvalidGrantError } from '../errors';
import type { GoogleGateway, GoogleTokens } from '../google/gateway';
import type { UserJobsCleanup } from '../jobs/cleanup';
import type { DriveClientFactory } from '../jobs/drive';
import { toDriveError } from '../jobs/drive';
import type { OfflineJob } from '../jobs/types';
import { describeError, logger } from '../log';
import { redactText } from '../redact';
import type { JobResult, RefreshOutcome, Revocation, UserRecord, UserStore } from '../store/users';
import { classifyGrantFailure, TESTING_MODE_EXPIRY_ADVICE } from '../connection-status';
import { withRetries, type RetryPolicy } from './backoff';
import { isTransient } from '../failures';

export type UserOutcome =
  | { status: 'refreshed' }
  | { status: 'skipped'; reason: 'not_claimed' | 'already_refreshed' | 'token_replaced' }
  | { status: 'revoked' }
  | { status: 'failed'; retryable: boolean; error: string };

export interface UserRefreshDependencies {
  store: Pick<UserStore, 'claimLease' | 'releaseLease' | 'replaceRefreshToken' | 'finishRefresh' | 'markRevoked'>;
  cipher: Pick<TokenCipher, 'encrypt' | 'decrypt'>;
  oauth: Pick<GoogleGateway, 'refreshAccessToken'>;
  jobs: readonly OfflineJob[];
  /** Drive clients for a user's access token, already rate-limited per request. */
  driveFor: DriveClientFactory;
  /** Awaited before every refresh grant (the Google rate limiter). */
  beforeGoogleRequest: () => Promise<void>;
  /** Forgets a revoked user's job state (page tokens, push channels). */
  jobCleanup?: Pick<UserJobsCleanup, 'forgetUser'>;
  leaseMs: number;
  retry: RetryPolicy;
  now?: () => number;
}

/** A claimed user's lease; `released` once the outcome was recorded with it. */
interface Lease {
  userId: string;
  released: boolean;
}

/** What one run (one batch of the worker) shares across its users. */
export interface RefreshRun {
  /** ISO time the cycle was dispatched. */
  cycle: string;
  /** Lease owner: unique per run. */
  owner: string;
  /** Epoch ms after which no backoff wait starts. */
  deadline?: number;
}

export class UserRefresher {
  private readonly now: () => number;

  constructor(private readonly deps: UserRefreshDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** Never throws: every failure becomes an outcome, so one user cannot fail another. */
  async refresh(userId: string, run: RefreshRun): Promise<UserOutcome> {
    let record: UserRecord | undefined;
    try {
      record = await this.retrying(run, () =>
        this.deps.store.claimLease(userId, run.owner, this.deps.leaseMs, this.now()),
      );
    } catch (error) {
      return failed(userId, error, 'claiming the lease');
    }
    // Gone, no longer active, or another run holds the lease right now.
    if (!record?.refreshToken) return { status: 'skipped', reason: 'not_claimed' };
    const lease: Lease = { userId, released: false };
    try {
      if (refreshedSince(record, run.cycle)) return { status: 'skipped', reason: 'already_refreshed' };
      return await this.refreshClaimed(record, record.refreshToken, lease, run);
    } finally {
      // Usually released together with the recorded outcome; on every other path, here.
      if (!lease.released) {
        await this.deps.store.releaseLease(userId, run.owner).catch((error: unknown) => {
          // It expires by itself; the next cycle may skip this user once.
          logger.warn('could not release the refresh lease', { userId, error: describeError(error) });
        });
      }
    }
  }

  private async refreshClaimed(
    record: UserRecord,
    ciphertext: Uint8Array,
    lease: Lease,
    run: RefreshRun,
  ): Promise<UserOutcome> {
    const { userId } = record;
    let tokens: GoogleTokens;
    try {
      const refreshToken = await this.retrying(run, () => this.deps.cipher.decrypt(ciphertext, userId));
      tokens = await this.retrying(run, async () => {
        await this.deps.beforeGoogleRequest();
        return this.deps.oauth.refreshAccessToken(refreshToken);
      });
      if (tokens.refreshToken && tokens.refreshToken !== refreshToken)
        await this.storeRotatedToken(record, tokens.refreshToken, run);
    } catch (error) {
      if (error instanceof InvalidGrantError) return this.markRevoked(record, this.grantRevocation(record, error), run);
      // Nothing will ever decrypt it: the user has to sign in again, like after a revocation.
      if (error instanceof CiphertextError)
        return this.markRevoked(record, { reason: 'revoked', detail: 'undecryptable_token' }, run);
      await this.recordFailure(lease, error, {}, run);
      return failed(userId, error, 'refreshing the access token');
    }

    const grantedScopes = tokens.scopes.length ? tokens.scopes : record.grantedScopes;
    const { results, failure } = await this.runJobs(userId, tokens.accessToken, grantedScopes, run);
    if (failure) {
      await this.recordFailure(lease, failure.error, results, run);
      return failed(userId, failure.error, `running the job ${failure.job}`);
    }
    try {
      await this.finish(lease, { at: new Date(this.now()), jobs: results, succeeded: true }, run);
    } catch (error) {
      return failed(userId, error, 'recording the refresh');
    }
    logger.debug('user refreshed', {
      userId,
      jobs: Object.fromEntries(Object.entries(results).map(([name, r]) => [name, r.status])),
    });
    return { status: 'refreshed' };
  }

  /** Keeps a refresh token Google rotated, unless a newer sign-in replaced the record meanwhile. */
  private async storeRotatedToken(record: UserRecord, refreshToken: string, run: RefreshRun): Promise<void> {
    const { userId } = record;
    const ciphertext = await this.retrying(run, () => this.deps.cipher.encrypt(refreshToken, userId));
    const stored = await this.retrying(run, () =>
      this.deps.store.replaceRefreshToken(
        userId,
        record.tokenVersion,
        { ciphertext, ...tokenHashes(refreshToken) },
        new Date(this.now()),
      ),
    );
    if (stored) logger.info('rotated refresh token stored', { userId });
    else
      logger.info('rotated refresh token not stored: the record changed meanwhile (the newer token wins)', { userId });
  }

  private async runJobs(
    userId: string,
    accessToken: string,
    grantedScopes: readonly string[],
    run: RefreshRun,
  ): Promise<{ results: Record<string, JobResult>; failure?: { job: string; error: unknown } }> {
    const results: Record<string, JobResult> = {};
    let failure: { job: string; error: unknown } | undefined;
    const drive = this.deps.driveFor(accessToken);
    for (const job of this.deps.jobs) {
      const at = () => new Date(this.now()).toISOString();
      if (!job.requiredScopes.every((scope) => grantedScopes.includes(scope))) {
        results[job.name] = { status: 'skipped', at: at(), reason: 'missing_scopes' };
        continue;
      }
      const jobLogger = logger.createChild({ persistentKeys: { userId, job: job.name } });
      try {
        const detail = await this.retrying(run, () =>
          job.run({ drive, userId, logger: jobLogger }).catch((error: unknown) => {
            throw toDriveError(error, `Drive job ${job.name}`);
          }),
        );
        results[job.name] = { status: 'ok', at: at(), detail };
      } catch (error) {
        results[job.name] = { status: 'failed', at: at(), reason: errorSummary(error) };
        // A transient failure decides the outcome (the message is retried); otherwise the first failure does.
        if (!failure || (isTransient(error) && !isTransient(failure.error))) failure = { job: job.name, error };
      }
    }
    return failure ? { results, failure } : { results };
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

  private async markRevoked(record: UserRecord, revocation: Revocation, run: RefreshRun): Promise<UserOutcome> {
    const { userId } = record;
    const reason = revocation.reason;
    try {
      const marked = await this.retrying(run, () =>
        this.deps.store.markRevoked(userId, revocation, new Date(this.now()), record.tokenVersion),
      );
      if (!marked) {
        logger.info('grant died, but a newer refresh token was stored meanwhile; keeping it', { userId });
        return { status: 'skipped', reason: 'token_replaced' };
      }
    } catch (markError) {
      return failed(userId, markError, 'marking the user revoked');
    }
    logger.info('user marked revoked', { userId, reason, detail: revocation.detail });
    await this.deps.jobCleanup?.forgetUser(userId);
    return { status: 'revoked' };
  }

  /** Records the outcome and releases the lease, in one write. */
  private async finish(lease: Lease, outcome: RefreshOutcome, run: RefreshRun): Promise<void> {
    await this.retrying(run, () => this.deps.store.finishRefresh(lease.userId, run.owner, outcome));
    lease.released = true;
  }

  /** Best effort: the outcome is already decided, a failure to record it only loses history. */
  private async recordFailure(
    lease: Lease,
    error: unknown,
    jobs: Record<string, JobResult>,
    run: RefreshRun,
  ): Promise<void> {
    await this.finish(
      lease,
      { at: new Date(this.now()), jobs, succeeded: false, error: errorSummary(error) },
      run,
    ).catch((recordError: unknown) =>
      logger.warn('could not record the refresh failure', { userId: lease.userId, error: describeError(recordError) }),
    );
  }

  private retrying<T>(run: RefreshRun, operation: () => Promise<T>): Promise<T> {
    return withRetries(operation, {
      policy: this.deps.retry,
      isRetryable: isRetryableInWorker,
      now: this.now,
      ...(run.deadline !== undefined ? { deadline: run.deadline } : {}),
      onRetry: (error, attempt, delayMs) =>
        logger.debug('retrying after a transient failure', { attempt, delayMs, error: describeError(error) }),
    });
  }
}

const grantReason = (error: InvalidGrantError): string => {
  const code = error.googleErrorSubtype ? `${error.googleError}/${error.googleErrorSubtype}` : error.googleError;
  return error.reason ? `${code}: ${error.reason}` : String(code);
};

function refreshedSince(record: UserRecord, cycle: string): boolean {
  return record.lastRefreshAt !== undefined && Date.parse(record.lastRefreshAt) >= Date.parse(cycle);
}

function failed(userId: string, error: unknown, step: string): UserOutcome {
  const retryable = isTransient(error);
  logger.warn(`refresh failed while ${step}`, { userId, retryable, error: describeError(error) });
  return { status: 'failed', retryable, error: errorSummary(error) };
}

/** A short, log-safe line for the user record: never a request body or token. */
function errorSummary(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactText(text).slice(0, 300);
}

/**
 * Whether the worker itself should try again. AWS SDK errors are left out: the SDK already
 * retried them with its own jittered backoff, and a second layer would multiply the attempts.
 * Google calls have no retry below the worker (google-auth-library's and Drive's are off).
 */
function isRetryableInWorker(error: unknown): boolean {
  const fromAwsSdk = typeof error === 'object' && error !== null && '$metadata' in error;
  return isTransient(error) && !fromAwsSdk;
}
