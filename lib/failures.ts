/**
 * Which failures are worth another try later: Google unavailable or
 * throttling (already mapped to `UpstreamUnavailableError`), AWS throttling and server
 * faults, and network trouble. Everything else (a dead grant, a bad ciphertext, a 4xx)
 * would fail the same way again.
 */
import { InternalError, UpstreamUnavailableError, isAppError, type AppError } from './errors';

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
  // Duck-typed: errors raised by Node's own sockets may come from another realm (jest's VM).
  if (typeof error !== 'object' || error === null) return false;
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

/** Any thrown value as one of ours: AWS or network trouble is 503 (retry later), the unknown is 500. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (isTransient(error)) return new UpstreamUnavailableError('A service we depend on is unavailable; retry shortly');
  return new InternalError();
}
