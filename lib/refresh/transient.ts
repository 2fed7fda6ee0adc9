/**
 * Which failures are worth another try within one delivery: Google unavailable or
 * throttling (already mapped to `UpstreamUnavailableError`), AWS throttling and server
 * faults, and network trouble. Everything else (a dead grant, a bad ciphertext, a 4xx)
 * would fail the same way again.
 */
import { UpstreamUnavailableError } from '../errors';

const AWS_TRANSIENT_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestThrottledException',
  'LimitExceededException', // KMS's older name for its request-rate quota
  'KMSInternalException',
  'DependencyTimeoutException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ABORT_ERR',
]);

export function isTransient(error: unknown): boolean {
  if (error instanceof UpstreamUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const aws = error as Error & {
    $fault?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    code?: unknown;
  };
  if (AWS_TRANSIENT_ERRORS.has(aws.name) || aws.$retryable !== undefined || aws.$fault === 'server') return true;
  if ((aws.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return typeof aws.code === 'string' && NETWORK_CODES.has(aws.code);
}

/**
 * Whether the worker itself should try again. AWS SDK errors are left out: the SDK already
 * retried them with its own jittered backoff, and a second layer would multiply the attempts.
 * Google calls have no retry below the worker (google-auth-library's and Drive's are off).
 */
export function isRetryableInWorker(error: unknown): boolean {
  const fromAwsSdk = error instanceof Error && '$metadata' in error;
  return isTransient(error) && !fromAwsSdk;
}
