/**
 * One user's refresh, under a lease: decrypt the stored refresh token, get a fresh access
 * token, keep a rotated refresh token, run the offline jobs, record the outcome.
 *
 * - The lease (a conditional write) keeps overlapping runs off the user; it is released
 *   when the work ends, so the next cycle processes the user again.
 * - A user refreshed since the message's cycle is skipped: a redelivered message does not
 *   refresh its other users twice.
 * - Decrypting, the refresh grant, a rotated refresh token and a dead grant (`invalid_grant`
 *   or an undecryptable ciphertext marks the user revoked, never retried) are handled by
 *   `GrantRefresher` (lib/access-tokens.ts), the path the token function shares.
 * - Transient Google failures (429/5xx/timeouts) are retried here, with full-jitter backoff,
 *   and nowhere else; AWS throttling is retried by the SDK alone. Once exhausted the outcome
 *   is `retryable`, so the worker hands the message back to SQS.
 */
import type { GrantRefresher } from '../access-tokens';
import type { GoogleTokens } from '../google/gateway';
import type { DriveClientFactory } from '../jobs/drive';
import { toDriveError } from '../jobs/drive';
import type { OfflineJob } from '../jobs/types';
import { describeError, logger } from '../log';
import { redactText } from '../redact';
import type { JobResult, RefreshOutcome, UserRecord, UserStore } from '../store/users';
import { withRetries, type RetryPolicy } from './backoff';
import { isTransient } from '../failures';

export type UserOutcome =
  | { status: 'refreshed' }
  | { status: 'skipped'; reason: 'not_claimed' | 'already_refreshed' | 'token_replaced' }
  | { status: 'revoked' }
  | { status: 'failed'; retryable: boolean; error: string };

export interface UserRefreshDependencies {
  store: Pick<UserStore, 'claimLease' | 'releaseLease' | 'finishRefresh'>;
  /** The one path from a stored grant to an access token (lib/access-tokens.ts), shared with the token function. */
  grants: Pick<GrantRefresher, 'refresh'>;
  jobs: readonly OfflineJob[];
  /** Drive clients for a user's access token, already rate-limited per request. */
  driveFor: DriveClientFactory;
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
      return await this.refreshClaimed(record, lease, run);
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

  private async refreshClaimed(record: UserRecord, lease: Lease, run: RefreshRun): Promise<UserOutcome> {
    const { userId } = record;
    let tokens: GoogleTokens;
    try {
      const grant = await this.deps.grants.refresh(record, (operation) => this.retrying(run, operation));
      switch (grant.status) {
        case 'revoked':
          return { status: 'revoked' };
        case 'token_replaced':
          return { status: 'skipped', reason: 'token_replaced' };
        case 'mark_failed':
          return failed(userId, grant.error, 'marking the user revoked');
        case 'refreshed':
          tokens = grant.tokens;
      }
    } catch (error) {
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
