/**
 * A token bucket in front of every request to Google from one execution environment.
 * Callers that find it empty reserve a token anyway (the balance goes negative) and wait
 * for their turn, so waiters are served in order at exactly `ratePerSecond`, without polling.
 *
 * It is per process: the fleet's ceiling is `ratePerSecond × the worker's maximum concurrency`.
 */
import { sleep as realSleep } from './backoff';

export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Tokens that may accumulate while idle (default: one second's worth, at least 1). */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class TokenBucket {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tokens: number;
  private updatedAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    this.ratePerMs = options.ratePerSecond / 1000;
    this.burst = options.burst ?? Math.max(1, options.ratePerSecond);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.tokens = this.burst;
    this.updatedAt = this.now();
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return Promise.resolve();
    return this.sleep(Math.ceil(-this.tokens / this.ratePerMs));
  }
}
