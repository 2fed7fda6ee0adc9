import { fullJitterDelay, withRetries, type RetryPolicy } from '../../lib/refresh/backoff';
import { UpstreamError, UpstreamUnavailableError } from '../../lib/errors';
import { isTransient } from '../../lib/failures';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

function recorder() {
  const waits: number[] = [];
  return { waits, sleep: (ms: number) => (waits.push(ms), Promise.resolve()) };
}

describe('full-jitter backoff', () => {
  it('draws each wait from zero up to a ceiling that doubles per attempt and is capped', () => {
    const highest = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => fullJitterDelay(attempt, policy, highest))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(fullJitterDelay(3, policy, () => 0)).toBe(0);
    expect(fullJitterDelay(3, policy, () => 0.5)).toBe(200);
  });

  it('retries a transient failure until it succeeds', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const result = await withRetries(
      () => {
        calls += 1;
        return calls < 3
          ? Promise.reject(new UpstreamUnavailableError('Google is unavailable'))
          : Promise.resolve('ok');
      },
      { policy, isRetryable: isTransient, sleep, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(waits).toEqual([50, 100]);
  });

  it('gives up after maxAttempts and throws the last error', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const failure = withRetries(
      () => {
        calls += 1;
        return Promise.reject(new UpstreamUnavailableError(`attempt ${calls}`));
      },
      { policy, isRetryable: isTransient, sleep, random: () => 0.5 },
    );
    await expect(failure).rejects.toThrow('attempt 4');
    expect(calls).toBe(4);
    expect(waits).toHaveLength(3);
  });

  it('never retries an error that would fail the same way again', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const failure = withRetries(
      () => {
        calls += 1;
        return Promise.reject(new UpstreamError('invalid_client'));
      },
      { policy, isRetryable: isTransient, sleep },
    );
    await expect(failure).rejects.toBeInstanceOf(UpstreamError);
    expect(calls).toBe(1);
    expect(waits).toEqual([]);
  });

  it('does not start a wait that would end past the deadline', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const failure = withRetries(
      () => {
        calls += 1;
        return Promise.reject(new UpstreamUnavailableError('busy'));
      },
      { policy, isRetryable: isTransient, sleep, random: () => 0.5, now: () => 1_000, deadline: 1_040 },
    );
    await expect(failure).rejects.toThrow('busy');
    expect(calls).toBe(1);
    expect(waits).toEqual([]);
  });
});

describe('which failures are transient', () => {
  const awsError = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name), { name, ...extra });

  it('counts Google unavailability, AWS throttling and server faults, and network errors', () => {
    expect(isTransient(new UpstreamUnavailableError('429'))).toBe(true);
    expect(isTransient(awsError('ProvisionedThroughputExceededException'))).toBe(true);
    expect(isTransient(awsError('ThrottlingException'))).toBe(true);
    expect(isTransient(awsError('KMSInternalException'))).toBe(true);
    expect(isTransient(awsError('Whatever', { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransient(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('does not count client errors, dead grants or bugs', () => {
    expect(isTransient(new UpstreamError('invalid_client'))).toBe(false);
    expect(
      isTransient(
        awsError('ConditionalCheckFailedException', { $fault: 'client', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(false);
    expect(isTransient(new TypeError('x is undefined'))).toBe(false);
    expect(isTransient('a string')).toBe(false);
  });
});
