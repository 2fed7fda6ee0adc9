/**
 * Wiring of the refresh worker. The worker handler and `npm run refresh` both build it
 * here, so they run the same code with the same settings.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { kmsClient } from '../aws/clients/kms';
import { kmsCipher } from '../aws/kms-data-keys';
import { requireEnv } from '../config';
import { OfflineJobCleanup } from '../jobs/cleanup';
import { drivePushAddress } from '../jobs/config';
import { GrantRefresher } from '../access-tokens';
import { driveClientFactory } from '../jobs/drive';
import { DRIVE_CHANGES_HANDLERS } from '../jobs/drive-changes-handlers';
import { DEFAULT_PUSH_TIMING } from '../jobs/drive-push';
import { knownJobs, selectJobs } from '../jobs/registry';
import { once } from '../memo';
import { TokenBucket } from '../refresh/rate-limiter';
import { WORKER_CIPHER_OPTIONS, workerConfig } from '../refresh/config';
import { UserRefresher } from '../refresh/user-refresh';
import { RefreshWorker } from '../refresh/worker';
import { retryRevocation } from '../revocation';
import { composition } from './composition';
import { refreshDispatcher } from './refresh-dispatch';
import { jobStateStore, refreshLedger, userStore } from './aws';
import { revocationQueue } from './revocation-queue';
import { eventPublisher } from './events';
import { googleServices, prepareGoogleServices } from './google';

const workerCipher = once(() => kmsCipher(kmsClient(), requireEnv('KMS_KEY_ID'), WORKER_CIPHER_OPTIONS));

/** Backoff never waits longer than this between two tries: longer waits are SQS redelivery's job. */
const MAX_RETRY_DELAY_MS = 5_000;

const workerSetup = once(() => {
  const config = workerConfig();
  const pushAddress = drivePushAddress();
  // Built when drive-changes first runs: a worker without it needs no EventBridge client.
  const driveChanges = once(() => ({
    states: jobStateStore(),
    events: eventPublisher(),
    handlers: DRIVE_CHANGES_HANDLERS,
    ...(pushAddress ? { push: { address: pushAddress, ...DEFAULT_PUSH_TIMING } } : {}),
  }));
  return {
    config,
    jobs: selectJobs(config.jobNames, knownJobs({ driveChanges })),
    // Per execution environment: the fleet's ceiling is GOOGLE_QPS × the worker's maximum concurrency.
    // No burst: environments starting together must not exceed the fleet's allowance.
    googleRateLimit: new TokenBucket({ ratePerSecond: config.googleQps, burst: 1 }),
    metrics: new Metrics({
      namespace: config.metricsNamespace,
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'google-offline-access',
    }),
  };
});

export const refreshWorkerFunction = composition({
  /**
   * REFRESH_QUEUE_URL is checked when set but not required: the worker needs it only to
   * continue a checkpointed scan or re-queue a revocation (a ConfigError naming it then).
   */
  prepare() {
    workerSetup();
    if (process.env.REFRESH_QUEUE_URL) refreshDispatcher();
    userStore();
    workerCipher();
    prepareGoogleServices();
  },
  async build() {
    const { config, jobs, googleRateLimit, metrics } = workerSetup();
    const google = await googleServices();
    const store = userStore();
    const cipher = workerCipher();
    const beforeGoogleRequest = () => googleRateLimit.take();
    const users = new UserRefresher({
      store,
      grants: new GrantRefresher({ store, cipher, oauth: google.oauth, beforeGoogleRequest }),
      jobs,
      driveFor: driveClientFactory({
        beforeRequest: beforeGoogleRequest,
        ...(google.config.emulatorHost ? { rootUrl: google.endpoints.apiRootUrl } : {}),
      }),
      // The grant is dead: channels can only be forgotten, not stopped (see lib/jobs/cleanup.ts).
      jobCleanup: new OfflineJobCleanup({ states: jobStateStore() }),
      leaseMs: config.leaseMs,
      recordIntervalMs: config.recordIntervalMs,
      onGoogleThrottled: () => googleRateLimit.slowDown(),
      retry: { maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseMs, maxDelayMs: MAX_RETRY_DELAY_MS },
    });
    const rateLimitedRevoke = {
      revoke: async (token: string) => {
        await beforeGoogleRequest();
        await google.oauth.revoke(token);
      },
    };
    return new RefreshWorker({
      users,
      dispatcher: { continueSegment: (message, deadline) => refreshDispatcher().continueSegment(message, deadline) },
      retryRevocation: (message, receiveCount) =>
        retryRevocation(message, {
          cipher,
          oauth: rateLimitedRevoke,
          store,
          // Resolved when first needed: REFRESH_QUEUE_URL is optional for the worker.
          revocations: { enqueue: (m, delaySeconds) => revocationQueue().enqueue(m, delaySeconds) },
          receiveCount,
        }),
      metrics,
      userConcurrency: config.userConcurrency,
      claims: { ledger: refreshLedger(), store, leaseMs: config.leaseMs, maxReceives: config.maxReceives },
    });
  },
});
