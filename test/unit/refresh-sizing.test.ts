import { outcomeChanged } from '../../lib/refresh/user-refresh';
import { quotaFloorSeconds, refreshSizing } from '../../lib/refresh/sizing';
import type { UserRecord } from '../../lib/store/users';

describe('refreshSizing', () => {
  it('splits the project allowance over as few environments as keep up, never fewer than SQS allows', () => {
    expect(refreshSizing({ googleRequestsPerSecond: 100 })).toEqual({
      workerMaxConcurrency: 2,
      perEnvironmentQps: 50,
      userConcurrency: 25,
      usersPerMessage: 200,
      batchSize: 10,
    });
    const large = refreshSizing({ googleRequestsPerSecond: 1000 });
    expect(large.workerMaxConcurrency).toBe(20);
    expect(large.workerMaxConcurrency * large.perEnvironmentQps).toBe(1000);
    expect(refreshSizing({ googleRequestsPerSecond: 1 })).toMatchObject({
      workerMaxConcurrency: 2,
      userConcurrency: 2,
    });
  });

  it('states the floor a cycle cannot beat', () => {
    expect(quotaFloorSeconds(1_000_000, 100, 2)).toBe(20_000);
  });
});

describe('outcomeChanged (what a claimed run writes)', () => {
  const at = new Date('2026-03-02T03:00:00.000Z');
  const summary = { fileCount: 2, totalBytes: 10, newestModifiedTime: null };
  const record = (changes: Partial<UserRecord> = {}): UserRecord => ({
    userId: 'u',
    emailVerified: true,
    status: 'active',
    grantedScopes: [],
    tokenVersion: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-03-01T03:00:00.000Z',
    refreshFailures: 0,
    lastRefreshAt: '2026-03-01T03:00:00.000Z',
    jobs: { 'appdata-summary': { status: 'ok', at: '2026-03-01T03:00:00.000Z', detail: summary } },
    ...changes,
  });
  const week = 7 * 86_400_000;
  const ok = {
    at,
    succeeded: true,
    jobs: {
      'appdata-summary': {
        status: 'ok' as const,
        at: at.toISOString(),
        detail: { newestModifiedTime: null, totalBytes: 10, fileCount: 2 },
      },
    },
  };

  it('skips the write when the same result was recorded recently (key order aside)', () => {
    expect(outcomeChanged(record(), ok, week)).toBe(false);
  });

  it('writes a changed result, a failure, a cleared failure, or a record older than the interval', () => {
    expect(
      outcomeChanged(
        record(),
        { ...ok, jobs: { 'appdata-summary': { ...ok.jobs['appdata-summary'], detail: { ...summary, fileCount: 3 } } } },
        week,
      ),
    ).toBe(true);
    expect(outcomeChanged(record(), { at, succeeded: false, jobs: {}, error: 'x' }, week)).toBe(true);
    expect(outcomeChanged(record({ refreshFailures: 1, lastRefreshError: 'x' }), ok, week)).toBe(true);
    expect(outcomeChanged(record({ lastRefreshAt: '2026-02-20T03:00:00.000Z' }), ok, week)).toBe(true);
    expect(outcomeChanged(record({ lastRefreshAt: undefined }), ok, week)).toBe(true);
  });
});
