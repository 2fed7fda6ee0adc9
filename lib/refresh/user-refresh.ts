/**
 * One user's refresh: decrypt the stored refresh token, get a fresh access token, keep a
 * rotated refresh token, run the offline jobs, record the outcome. Two ways in:
 *
 * - `refresh`: under a per-user lease (a conditional write) that keeps overlapping runs off
 *   the user; it is released when the work ends, so the next cycle processes the user again.
 *   A lease another run holds is not a skip: the user comes back (retryable), so a crashed
 *   run costs a retry, never a skipped cycle.
 * - `refreshUnderClaim`: for a user of a cycle message the worker has claimed as a whole
 *   (see lib/store/refresh-ledger.ts). No lease write; the record is written only when
 *   something changed (a failure, a job result, a rotated token) or the last recorded
 *   refresh is older than `recordIntervalMs`, so an unchanged user costs no write at all.
 * - A user refreshed since the message's cycle is skipped: a redelivered message does not
 *   refresh its other users twice.
 * - `invalid_grant` (or a ciphertext nothing can decrypt) marks the user revoked, only if
 *   the token is still the one that died, and is never retried.
 * - Transient Google failures (429/5xx/timeouts) are retried here, with full-jitter backoff,
 *   and nowhere else; AWS throttling is retried by the SDK alone. Once exhausted the outcome
 *   is `retryable`, so the worker hands the message back to SQS.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { GrantRefresher } from '../access-tokens';
import { UpstreamUnavailableError } from '../errors';
import type { GoogleTokens } from '../google/gateway';
import type { UserJobsCleanup } from '../jobs/cleanup';
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
  store: Pick<UserStore, 'claimLease' | 'releaseLease' | 'finishRefresh' | 'recordRefresh'>;
  /** The one path from a stored grant to an access token (lib/access-tokens.ts), shared with the token function. */
  grants: Pick<GrantRefresher, 'refresh'>;
  jobs: readonly OfflineJob[];
  /** Drive clients for a user's access token, already rate-limited per request. */
  driveFor: DriveClientFactory;
  /** Forgets a revoked user's job state (page tokens, push channels). */
  jobCleanup?: Pick<UserJobsCleanup, 'forgetUser'>;
  leaseMs: number;
  retry: RetryPolicy;
  /** Under a message claim, an unchanged outcome is still written once it is this old (default 30 days). */
  recordIntervalMs?: number;
  /** Told of every throttling answer from Google (429, Drive rate limits): the rate limiter slows down. */
  onGoogleThrottled?: () => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RECORD_INTERVAL_MS = 30 * 86_400_000;

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
    if (!record) {
      // Gone or no longer active: nothing to do. Leased by another run: come back later.
      return (await this.leasedByAnother(userId))
        ? { status: 'failed', retryable: true, error: 'another run holds the user' }
        : { status: 'skipped', reason: 'not_claimed' };
    }
    if (!record.refreshToken) return { status: 'skipped', reason: 'not_claimed' };
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

  /**
   * A user of a message this run has claimed, from a (possibly stale) read. Never throws.
   * `record` undefined: the user is gone.
   */
  async refreshUnderClaim(userId: string, record: UserRecord | undefined, run: RefreshRun): Promise<UserOutcome> {
    if (!record?.refreshToken || record.status !== 'active') return { status: 'skipped', reason: 'not_claimed' };
    // Someone refreshes this user on demand under a per-user lease: come back after it.
    if (record.leaseOwner && (record.leaseExpiresAt ?? 0) > this.now())
      return { status: 'failed', retryable: true, error: 'another run holds the user' };
    if (refreshedSince(record, run.cycle)) return { status: 'skipped', reason: 'already_refreshed' };
    return this.refreshClaimed(record, undefined, run);
  }

  /** Whether a live lease of another run is why the claim failed (a strongly consistent read). */
  private async leasedByAnother(userId: string): Promise<boolean> {
    const store = this.deps.store as Partial<Pick<UserStore, 'getUser'>>;
    if (!store.getUser) return false;
    try {
      const current = await store.getUser(userId, true);
      return Boolean(
        current?.refreshToken && current.status === 'active' && (current.leaseExpiresAt ?? 0) > this.now(),
      );
    } catch {
      // Unknown: coming back costs a retry, skipping could cost a cycle.
      return true;
    }
  }

  private async refreshClaimed(record: UserRecord, lease: Lease | undefined, run: RefreshRun): Promise<UserOutcome> {
    const { userId } = record;
    let tokens: GoogleTokens;
    try {
      const grant = await this.deps.grants.refresh(record, (operation) => this.retrying(run, operation));
      switch (grant.status) {
        case 'revoked':
          await this.deps.jobCleanup?.forgetUser(userId);
          return { status: 'revoked' };
        case 'token_replaced':
          return { status: 'skipped', reason: 'token_replaced' };
        case 'mark_failed':
          return failed(userId, grant.error, 'marking the user revoked');
        case 'refreshed':
          tokens = grant.tokens;
      }
    } catch (error) {
      await this.recordFailure(record, lease, error, {}, run);
      return failed(userId, error, 'refreshing the access token');
    }

    const grantedScopes = tokens.scopes.length ? tokens.scopes : record.grantedScopes;
    const { results, failure } = await this.runJobs(userId, tokens.accessToken, grantedScopes, run);
    if (failure) {
      await this.recordFailure(record, lease, failure.error, results, run);
      return failed(userId, failure.error, `running the job ${failure.job}`);
    }
    try {
      await this.finish(record, lease, { at: new Date(this.now()), jobs: results, succeeded: true }, run);
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
    const drive = await this.deps.driveFor(accessToken);
    for (const job of this.deps.jobs) {
      const at = () => new Date(this.now()).toISOString();
      if (!job.requiredScopes.every((scope) => grantedScopes.includes(scope))) {
        results[job.name] = { status: 'skipped', at: at(), reason: 'missing_scopes' };
        continue;
      }
      // A child logger costs a new Console (about a tenth of a millisecond): made only for a job that logs.
      let jobLogger: Logger | undefined;
      const context = {
        drive,
        userId,
        get logger(): Logger {
          return (jobLogger ??= logger.createChild({ persistentKeys: { userId, job: job.name } }));
        },
      };
      try {
        const detail = await this.retrying(run, () =>
          job.run(context).catch((error: unknown) => {
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

  /**
   * Records the outcome and releases the lease, in one write. Without a lease (a claimed
   * message), only an outcome that changed something is written.
   */
  private async finish(
    record: UserRecord,
    lease: Lease | undefined,
    outcome: RefreshOutcome,
    run: RefreshRun,
  ): Promise<void> {
    if (!lease) {
      if (outcomeChanged(record, outcome, this.deps.recordIntervalMs ?? DEFAULT_RECORD_INTERVAL_MS))
        await this.retrying(run, () => this.deps.store.recordRefresh(record.userId, outcome));
      return;
    }
    await this.retrying(run, () => this.deps.store.finishRefresh(lease.userId, run.owner, outcome));
    lease.released = true;
  }

  /** Best effort: the outcome is already decided, a failure to record it only loses history. */
  private async recordFailure(
    record: UserRecord,
    lease: Lease | undefined,
    error: unknown,
    jobs: Record<string, JobResult>,
    run: RefreshRun,
  ): Promise<void> {
    await this.finish(
      record,
      lease,
      { at: new Date(this.now()), jobs, succeeded: false, error: errorSummary(error) },
      run,
    ).catch((recordError: unknown) =>
      logger.warn('could not record the refresh failure', { userId: record.userId, error: describeError(recordError) }),
    );
  }

  private retrying<T>(run: RefreshRun, operation: () => Promise<T>): Promise<T> {
    return withRetries(operation, {
      policy: this.deps.retry,
      isRetryable: (error) => {
        if (isGoogleThrottling(error)) this.deps.onGoogleThrottled?.();
        return isRetryableInWorker(error);
      },
      now: this.now,
      ...(this.deps.sleep ? { sleep: this.deps.sleep } : {}),
      ...(this.deps.random ? { random: this.deps.random } : {}),
      ...(run.deadline !== undefined ? { deadline: run.deadline } : {}),
      onRetry: (error, attempt, delayMs) =>
        logger.debug('retrying after a transient failure', { attempt, delayMs, error: describeError(error) }),
    });
  }
}

function refreshedSince(record: UserRecord, cycle: string): boolean {
  return record.lastRefreshAt !== undefined && Date.parse(record.lastRefreshAt) >= Date.parse(cycle);
}

/**
 * Whether a claimed run must write the outcome: anything but a success that repeats what
 * the record already says (same job results, no failure to clear) and was recorded recently.
 */
export function outcomeChanged(record: UserRecord, outcome: RefreshOutcome, recordIntervalMs: number): boolean {
  if (!outcome.succeeded || record.refreshFailures > 0 || record.lastRefreshError !== undefined) return true;
  const last = record.lastRefreshAt ? Date.parse(record.lastRefreshAt) : NaN;
  if (!(outcome.at.getTime() - last < recordIntervalMs)) return true;
  const before = record.jobs ?? {};
  const names = Object.keys(outcome.jobs);
  if (names.length !== Object.keys(before).length) return true;
  return names.some((name) => {
    const previous = before[name];
    const next = outcome.jobs[name]!;
    return (
      !previous ||
      previous.status !== next.status ||
      previous.reason !== next.reason ||
      !sameDetail(previous.detail, next.detail)
    );
  });
}

/** Whether two job results hold the same values (flat values compared directly: the common case, and cheap). */
function sameDetail(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  if (!a || !b) return a === b;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const [x, y] = [a[key], b[key]];
    return x === y || (typeof x === 'object' && typeof y === 'object' && stableJson(x) === stableJson(y));
  });
}

/** JSON with object keys sorted: DynamoDB does not keep a map's key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Google telling us to slow down: 429, or Drive's 403 rate-limit reasons. */
export function isGoogleThrottling(error: unknown): boolean {
  if (!(error instanceof UpstreamUnavailableError)) return false;
  return error.googleStatus === 429 || /rate limit/i.test(error.message);
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
