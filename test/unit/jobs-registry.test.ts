import { ConfigError } from '../../lib/errors';
import { appDataSummaryJob, DRIVE_APPDATA_SCOPE } from '../../lib/jobs/appdata-summary';
import type { OfflineJob } from '../../lib/jobs/types';
import { selectJobs } from '../../lib/jobs/registry';
import { workerConfig, dispatchConfig } from '../../lib/refresh/config';

describe('offline job registry', () => {
  it('selects the configured jobs by name', () => {
    expect(selectJobs(['appdata-summary'])).toEqual([appDataSummaryJob]);
  });

  it('names REFRESH_JOBS when a job is unknown or repeated', () => {
    expect(() => selectJobs(['appdata-summary', 'mystery'])).toThrow(ConfigError);
    expect(() => selectJobs(['mystery'])).toThrow(/REFRESH_JOBS .*"mystery".*appdata-summary/);
    expect(() => selectJobs(['appdata-summary', 'appdata-summary'])).toThrow(/REFRESH_JOBS/);
  });

  it('knows drive-changes, which needs its wiring only when it runs', async () => {
    const [job] = selectJobs(['drive-changes']);
    expect(job).toMatchObject({ name: 'drive-changes', requiredScopes: [DRIVE_APPDATA_SCOPE] });
    await expect(job!.run({} as Parameters<OfflineJob['run']>[0])).rejects.toThrow(ConfigError);
  });

  it('defaults to appdata-summary and parses a comma list', () => {
    expect(workerConfig({}).jobNames).toEqual(['appdata-summary']);
    expect(workerConfig({ REFRESH_JOBS: ' appdata-summary , other ' }).jobNames).toEqual(['appdata-summary', 'other']);
  });
});

describe('refresh configuration', () => {
  it('applies the documented defaults', () => {
    expect(dispatchConfig({ REFRESH_QUEUE_URL: 'http://q' })).toEqual({
      queueUrl: 'http://q',
      scanSegments: 4,
      usersPerMessage: 200,
      scanPageSize: 1000,
      cycleTimeoutMs: 23 * 3_600_000,
    });
    expect(workerConfig({})).toEqual({
      userConcurrency: 8,
      leaseMs: 300_000,
      jobNames: ['appdata-summary'],
      googleQps: 10,
      maxAttempts: 3,
      retryBaseMs: 200,
      metricsNamespace: 'GoogleOfflineAccess',
      maxReceives: 5,
      recordIntervalMs: 30 * 86_400_000,
    });
  });

  it('names the variable that is missing or out of range', () => {
    expect(() => dispatchConfig({})).toThrow('REFRESH_QUEUE_URL');
    expect(() => dispatchConfig({ REFRESH_QUEUE_URL: 'q', DISPATCH_SCAN_SEGMENTS: '0' })).toThrow(
      'DISPATCH_SCAN_SEGMENTS',
    );
    expect(() => workerConfig({ GOOGLE_QPS: 'fast' })).toThrow('GOOGLE_QPS');
    expect(() => workerConfig({ REFRESH_LEASE_SECONDS: '1' })).toThrow('REFRESH_LEASE_SECONDS');
  });
});
