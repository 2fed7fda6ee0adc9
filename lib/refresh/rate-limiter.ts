/**
 * A token bucket in front of every request to Google from one execution environment.
 * Callers that find it empty reserve a token anyway (the balance goes negative) and wait
 * for their turn, so waiters are served in order at exactly `ratePerSecond`, without polling.
 *
 * It is per process: the fleet's ceiling is `ratePerSecond × the worker's maximum concurrency`
 * (the stack derives both from one project-wide allowance, see lib/refresh/sizing.ts).
 *
 * When Google answers 429 anyway (other clients of the same project share its quota),
 * `slowDown()` halves the rate, at most once per second, and the rate climbs back linearly
 * over `recoveryMs`: every execution environment does the same, so the fleet slows down.
 */
import { sleep as realSleep } from './backoff';

export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Tokens that may accumulate while idle (default: one second's worth, at least 1). */
  burst?: number;
  /** Time to climb back from the slowest rate to `ratePerSecond` (default 60 s). */
  recoveryMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The slowest a bucket gets after repeated 429s, as a fraction of its rate. */
const MIN_RATE_FRACTION = 1 / 32;
const SLOW_DOWN_EVERY_MS = 1000;

export class TokenBucket {
  private readonly fullRatePerMs: number;
  private ratePerMs: number;
  private readonly recoveryPerMs: number;
  private lastSlowDownAt = -Infinity;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tokens: number;
  private updatedAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    this.fullRatePerMs = options.ratePerSecond / 1000;
    this.ratePerMs = this.fullRatePerMs;
    this.recoveryPerMs = this.fullRatePerMs / (options.recoveryMs ?? 60_000);
    this.burst = options.burst ?? Math.max(1, options.ratePerSecond);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.tokens = this.burst;
    this.updatedAt = this.now();
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    this.advance();
    this.tokens -= 1;
    if (this.tokens >= 0) return Promise.resolve();
    return this.sleep(Math.ceil(-this.tokens / this.ratePerMs));
  }

  /** Google said 429: halve the rate (at most once a second, never below 1/32 of it). */
  slowDown(): void {
    this.advance();
    const now = this.now();
    if (now - this.lastSlowDownAt < SLOW_DOWN_EVERY_MS) return;
    this.lastSlowDownAt = now;
    this.ratePerMs = Math.max(this.fullRatePerMs * MIN_RATE_FRACTION, this.ratePerMs / 2);
  }

  /** Requests per second allowed right now. */
  get currentRatePerSecond(): number {
    this.advance();
    return this.ratePerMs * 1000;
  }

  private advance(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerMs);
    this.ratePerMs = Math.min(this.fullRatePerMs, this.ratePerMs + elapsed * this.recoveryPerMs);
    this.updatedAt = now;
  }
}
