/**
 * The benchmark's measuring functions run and answer well-formed figures (never timings:
 * `npm run bench` is where speed is measured, and it is not part of `npm test`).
 */
import { envelope, idTokens } from '../../bench/crypto';
import { inParallel, median } from '../../bench/measure';

describe('npm run bench', () => {
  it('takes the median of odd and even samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('runs work with bounded concurrency, every item once', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await inParallel([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(item);
      inFlight -= 1;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('verifies ID tokens with both verifiers', async () => {
    const result = await idTokens(3);
    expect(result.verifications).toBe(3);
    expect(result.oursMs).toBeGreaterThan(0);
    expect(result.googleAuthLibraryMs).toBeGreaterThan(0);
  });

  it('counts KMS requests with and without cached data keys', async () => {
    const result = await envelope(4);
    expect(result.uncached).toMatchObject({ encryptRequests: 4, decryptRequests: 4 });
    expect(result.cached).toMatchObject({ encryptRequests: 1, decryptRequests: 1 });
  });
});
