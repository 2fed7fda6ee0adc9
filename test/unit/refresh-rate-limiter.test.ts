import { TokenBucket } from '../../lib/refresh/rate-limiter';

/** A clock that only moves when a caller sleeps: waits are recorded, never slept. */
function virtualClock() {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => (now += ms),
    waits,
    sleep: (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
}

describe('TokenBucket (the Google rate limiter)', () => {
  it('lets a burst of one second’s worth through at once', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, now: clock.now, sleep: clock.sleep });
    for (let i = 0; i < 5; i++) await bucket.take();
    expect(clock.waits).toEqual([]);
  });

  it('spaces callers beyond the burst at exactly the rate, in arrival order', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, now: clock.now, sleep: clock.sleep });
    await Promise.all([bucket.take(), bucket.take(), bucket.take(), bucket.take()]);
    expect(clock.waits).toEqual([100, 200, 300]);
  });

  it('refills while idle, but never beyond the burst', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 2, burst: 2, now: clock.now, sleep: clock.sleep });
    await bucket.take();
    await bucket.take();
    clock.advance(60_000);
    await bucket.take();
    await bucket.take();
    expect(clock.waits).toEqual([]);
    await bucket.take();
    expect(clock.waits).toEqual([500]);
  });

  it('holds a sustained load to the rate over time', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 50, now: clock.now, sleep: clock.sleep });
    const started = clock.now();
    let finishedAt = 0;
    for (let i = 0; i < 550; i++) {
      await bucket.take();
      const wait = clock.waits.pop();
      if (wait) clock.advance(wait);
      finishedAt = clock.now();
    }
    // 50 from the initial burst, then 500 more at 50 per second.
    expect(finishedAt - started).toBe(10_000);
  });

  it('waits for real when no clock is injected', async () => {
    const bucket = new TokenBucket({ ratePerSecond: 200, burst: 1 });
    const started = Date.now();
    await bucket.take();
    await bucket.take();
    expect(Date.now() - started).toBeGreaterThanOrEqual(4);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(RangeError);
  });
});

describe('TokenBucket.slowDown', () => {
  it('halves the rate once per second at most, never below 1/32, and climbs back over the recovery time', () => {
    let now = 0;
    const bucket = new TokenBucket({
      ratePerSecond: 64,
      recoveryMs: 64_000,
      now: () => now,
      sleep: () => Promise.resolve(),
    });
    bucket.slowDown();
    bucket.slowDown();
    expect(bucket.currentRatePerSecond).toBe(32);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      bucket.slowDown();
    }
    // Each second climbs back one request per second, then halves again: it bottoms out at 64 / 32.
    expect(bucket.currentRatePerSecond).toBe(2);
    now += 31_000;
    expect(bucket.currentRatePerSecond).toBe(33);
    now += 64_000;
    expect(bucket.currentRatePerSecond).toBe(64);
  });
});
