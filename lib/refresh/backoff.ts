/**
 * The refresh worker's one retry layer: bounded attempts with "full jitter" exponential
 * backoff (delay drawn uniformly from [0, min(cap, base·2^(attempt-1)))), which spreads a
 * fleet's retries instead of synchronising them. Google clients underneath never retry.
 */
export interface RetryPolicy {
  /** Total tries, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** Only these errors are retried; anything else is thrown at once. */
  isRetryable(error: unknown): boolean;
  /** Epoch ms: no wait is started that would end after it (the invocation's time budget). */
  deadline?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The wait before retry number `attempt` (1 = the wait after the first failure). */
export function fullJitterDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `operation` until it succeeds, fails with a non-retryable error, runs out of
 * attempts or would wait past the deadline. @throws the last error.
 */
export async function withRetries<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.policy.maxAttempts || !options.isRetryable(error)) throw error;
      const delayMs = fullJitterDelay(attempt, options.policy, options.random);
      if (options.deadline !== undefined && now() + delayMs >= options.deadline) throw error;
      options.onRetry?.(error, attempt, delayMs);
      await wait(delayMs);
    }
  }
}
