/**
 * `npm run simulate` at a small size: the real dispatcher and worker over the in-memory
 * ports, in virtual time. Asserts the guarantees, never timings.
 */
import { runSimulation } from '../../bench/sim/simulation';

jest.setTimeout(120_000);

describe('refresh simulation (2,000 users)', () => {
  it('refreshes every active user once, within the Google allowance, with a few ledger writes per message', async () => {
    const result = await runSimulation({ users: 2_000, googleQps: 50, changeRate: 0, revokedRate: 0.01 });
    expect(result.usersLost).toBe(0);
    expect(result.usersRefreshedTwice).toBe(0);
    expect(result.usersRefreshedConcurrently).toBe(0);
    expect(result.usersRefreshed + result.usersRevoked).toBe(2_000);
    // No user was written but the revoked ones and those due for their weekly record.
    expect(result.dynamoUserItemWriteUnitsPerUser).toBeLessThan(0.25);
    expect(result.peakConcurrency).toBeLessThanOrEqual(result.settings.workerMaxConcurrency as number);
    expect(result.cycleSeconds).toBeGreaterThanOrEqual(result.floorSeconds);
    expect(Object.keys(result.costBreakdownUsd).sort()).toEqual(
      ['cloudWatchLogs', 'dynamodb', 'eventBridge', 'kms', 'lambda', 'sqs'].sort(),
    );
  });

  it('loses nobody and never refreshes a user twice at once when workers crash and Google fails', async () => {
    const result = await runSimulation({
      users: 2_000,
      googleQps: 50,
      crashRate: 0.3,
      googleFailureRate: 0.05,
      rotationRate: 0.05,
    });
    expect(result.usersLost).toBe(0);
    expect(result.usersRefreshedConcurrently).toBe(0);
    expect(result.usersRefreshed + result.usersRevoked).toBe(2_000);
  });

  it('skips schedule firings while a cycle runs longer than the schedule', async () => {
    const result = await runSimulation({ users: 2_000, googleQps: 5, schedule: 'rate(5 minutes)' });
    expect(result.cycleOverlaps).toBeGreaterThan(0);
    expect(result.usersRefreshedTwice).toBe(0);
    expect(result.usersLost).toBe(0);
  });
});
