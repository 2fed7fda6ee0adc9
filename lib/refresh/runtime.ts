/**
 * Composition of the refresh worker, built once per execution environment from the
 * environment (see `config.ts`). The worker handler and `npm run refresh` both build it here,
 * so they run the same code with the same settings. The dispatcher's lighter composition is
 * in `dispatch-runtime.ts`, so its bundle carries no Google or Drive client.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { sqsClient } from '../aws/clients';
import { retryRevocation, SqsRevocationQueue, type RevocationQueue } from '../disconnect';
import { driveClientFactory } from '../jobs/drive';
import { selectJobs } from '../jobs/registry';
import { once, onceAsync } from '../memo';
import { googleServices, tokenCipher, tokenStore, prepareGoogleServices } from '../runtime';
import { dispatchConfig, workerConfig } from './config';
import { refreshDispatcher } from './dispatch-runtime';
import { TokenBucket } from './rate-limiter';
import { UserRefresher } from './user-refresh';
import { RefreshWorker } from './worker';

const revocationQueue = once(() => new SqsRevocationQueue(sqsClient(), dispatchConfig().queueUrl));

/** Backoff never waits longer than this between two tries: longer waits are SQS redelivery's job. */
const MAX_RETRY_DELAY_MS = 5_000;

const workerSetup = once(() => {
  const config = workerConfig();
  return {
    config,
    jobs: selectJobs(config.jobNames),
    // Per execution environment: the fleet's ceiling is GOOGLE_QPS × the worker's maximum concurrency.
    googleRateLimit: new TokenBucket({ ratePerSecond: config.googleQps }),
    metrics: new Metrics({
      namespace: config.metricsNamespace,
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'google-offline-access',
    }),
  };
});

/**
 * Validates every setting the worker reads, synchronously: a bad variable fails the cold start
 * by name. REFRESH_QUEUE_URL is checked when set but not required here: the worker needs it only
 * to continue a checkpointed scan or re-queue a revocation (a ConfigError naming it then).
 */
export function validateRefreshWorkerConfig(): void {
  workerSetup();
  if (process.env.REFRESH_QUEUE_URL) refreshDispatcher();
  tokenStore();
  tokenCipher();
  prepareGoogleServices();
}

/** The worker; async because the Google client secret may come from Secrets Manager. */
export const refreshWorker = onceAsync(async (): Promise<RefreshWorker> => {
  const { config, jobs, googleRateLimit, metrics } = workerSetup();
  const google = await googleServices();
  const store = tokenStore();
  const cipher = tokenCipher();
  const beforeGoogleRequest = () => googleRateLimit.take();
  const users = new UserRefresher({
    store,
    cipher,
    oauth: google.oauth,
    jobs,
    driveFor: driveClientFactory({
      beforeRequest: beforeGoogleRequest,
      ...(google.config.emulatorHost ? { rootUrl: google.endpoints.apiRootUrl } : {}),
    }),
    beforeGoogleRequest,
    leaseMs: config.leaseMs,
    retry: { maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseMs, maxDelayMs: MAX_RETRY_DELAY_MS },
  });
  const revocations: RevocationQueue = {
    enqueue: (message, delaySeconds) => revocationQueue().enqueue(message, delaySeconds),
  };
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
      retryRevocation(message, { cipher, oauth: rateLimitedRevoke, store, revocations, receiveCount }),
    metrics,
    userConcurrency: config.userConcurrency,
  });
});
