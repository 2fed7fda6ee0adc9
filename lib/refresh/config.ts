/**
 * Settings of the scheduled refresh, read and validated once per cold start. Every reader
 * throws a `ConfigError` naming the variable.
 */
import { intEnv, listEnv, numberEnv, optionalEnv, requireEnv } from '../config';

type Env = Record<string, string | undefined>;

export const DEFAULT_JOBS = ['appdata-summary'];

/**
 * The worker decrypts every stored token once per cycle, in no particular order, under as
 * many data keys as the exchange used: it keeps many unwrapped keys for a whole cycle, so
 * each costs one KMS request per execution environment and cycle, not one per user
 * (32 bytes each, a few megabytes at most).
 */
export const WORKER_CIPHER_OPTIONS = { decryptCacheSize: 65_536, decryptCacheMaxAgeMs: 12 * 3_600_000 };
export const DEFAULT_METRICS_NAMESPACE = 'GoogleOfflineAccess';

export interface DispatchConfig {
  /** REFRESH_QUEUE_URL: where `refresh` and `scan` messages go. */
  queueUrl: string;
  /** DISPATCH_SCAN_SEGMENTS: parallel-scan segments of the active-users index (default 4). */
  scanSegments: number;
  /**
   * DISPATCH_USERS_PER_MESSAGE: users in one `refresh` message (default 200). A message costs
   * three small ledger writes, so more users per message is fewer writes per user.
   */
  usersPerMessage: number;
  /** DISPATCH_SCAN_PAGE_SIZE: keys read per Scan call; the deadline is checked between pages (default 1000). */
  scanPageSize: number;
  /** REFRESH_CYCLE_TIMEOUT_SECONDS, in ms: after this a cycle that never finished counts as abandoned (default 23 h). */
  cycleTimeoutMs: number;
}

export function dispatchConfig(env: Env = process.env): DispatchConfig {
  return {
    queueUrl: requireEnv('REFRESH_QUEUE_URL', env),
    // DynamoDB allows up to 1,000,000 segments.
    scanSegments: intEnv('DISPATCH_SCAN_SEGMENTS', 4, { min: 1, max: 1_000_000 }, env),
    // Bounded so a message stays far below SQS's size limit even with long user IDs.
    usersPerMessage: intEnv('DISPATCH_USERS_PER_MESSAGE', 200, { min: 1, max: 500 }, env),
    scanPageSize: intEnv('DISPATCH_SCAN_PAGE_SIZE', 1000, { min: 1, max: 10_000 }, env),
    cycleTimeoutMs: intEnv('REFRESH_CYCLE_TIMEOUT_SECONDS', 82_800, { min: 60, max: 30 * 86_400 }, env) * 1000,
  };
}

export interface WorkerConfig {
  /** REFRESH_USER_CONCURRENCY: users refreshed at the same time by one execution environment (default 8). */
  userConcurrency: number;
  /** REFRESH_LEASE_SECONDS, in ms: how long a claimed user stays off-limits to other runs (default 300 s). */
  leaseMs: number;
  /** REFRESH_JOBS: the offline jobs to run, by name (default `appdata-summary`). */
  jobNames: string[];
  /** GOOGLE_QPS: requests per second to Google from one execution environment (default 10). */
  googleQps: number;
  /** REFRESH_MAX_ATTEMPTS: tries of one Google/AWS call within one delivery (default 3). */
  maxAttempts: number;
  /** REFRESH_RETRY_BASE_MS: first backoff ceiling; doubles per attempt, full jitter (default 200). */
  retryBaseMs: number;
  /** POWERTOOLS_METRICS_NAMESPACE (default `GoogleOfflineAccess`). */
  metricsNamespace: string;
  /** REFRESH_MAX_RECEIVES: the queue's maxReceiveCount (default 5). */
  maxReceives: number;
  /** REFRESH_RECORD_INTERVAL_HOURS, in ms: an unchanged outcome is still written once this old (default 720: 30 days). */
  recordIntervalMs: number;
}

export function workerConfig(env: Env = process.env): WorkerConfig {
  const jobNames = listEnv('REFRESH_JOBS', /\s*,\s*/, env);
  return {
    userConcurrency: intEnv('REFRESH_USER_CONCURRENCY', 8, { min: 1, max: 256 }, env),
    leaseMs: intEnv('REFRESH_LEASE_SECONDS', 300, { min: 10, max: 3600 }, env) * 1000,
    jobNames: jobNames.length ? jobNames : DEFAULT_JOBS,
    googleQps: numberEnv('GOOGLE_QPS', 10, { min: 0.01, max: 100_000 }, env),
    maxAttempts: intEnv('REFRESH_MAX_ATTEMPTS', 3, { min: 1, max: 10 }, env),
    retryBaseMs: intEnv('REFRESH_RETRY_BASE_MS', 200, { min: 1, max: 60_000 }, env),
    metricsNamespace: optionalEnv('POWERTOOLS_METRICS_NAMESPACE', env) ?? DEFAULT_METRICS_NAMESPACE,
    maxReceives: intEnv('REFRESH_MAX_RECEIVES', 5, { min: 1, max: 1000 }, env),
    recordIntervalMs: intEnv('REFRESH_RECORD_INTERVAL_HOURS', 720, { min: 0, max: 24 * 366 }, env) * 3_600_000,
  };
}
