import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CONTEXT_DEFAULTS, InfraConfigError, readInfraConfig } from '../../infra/config';
import { REPO_ROOT } from '../../infra/functions';

const read = (context: Record<string, unknown>) => readInfraConfig((key) => context[key]);

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    read(context);
  } catch (error) {
    if (error instanceof InfraConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('deployment parameters', () => {
  it('cdk.json runs the app with tsx and lists every parameter with its default', () => {
    const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
      app: string;
      context: Record<string, unknown>;
    };
    expect(cdkJson.app).toBe('npx tsx infra/app.ts');
    expect(cdkJson.context).toEqual(CONTEXT_DEFAULTS);
  });

  it('defaults to a daily refresh sized from one Google allowance, the Drive app data scope and no optional extras', () => {
    expect(read({})).toEqual({
      stackName: 'GoogleOfflineAccess',
      allowedAzp: [],
      requiredScopes: ['https://www.googleapis.com/auth/drive.appdata'],
      redirectUri: '',
      refreshSchedule: 'rate(1 day)',
      refreshJobs: ['appdata-summary'],
      googleRequestsPerSecond: 100,
      scanSegments: 4,
      usersPerMessage: 200,
      apiRateLimit: 50,
      apiBurstLimit: 100,
      corsOrigins: [],
      metricsNamespace: 'GoogleOfflineAccess',
      revokedUsersAlarmThreshold: 100,
    });
  });

  it('accepts -c strings as well as cdk.json numbers and lists', () => {
    const config = read({
      clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:google/client-AbCdEf',
      allowedAzp: '1-a.apps.googleusercontent.com, 2-b.apps.googleusercontent.com',
      requiredScopes: ['https://www.googleapis.com/auth/drive.appdata', 'openid'],
      refreshSchedule: 'cron(0 3 * * ? *)',
      workerMaxConcurrency: '20',
      googleQps: '2.5',
      alarmEmail: 'oncall@example.com',
      corsOrigins: 'https://app.example.com,http://localhost:5173',
    });
    expect(config).toMatchObject({
      clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:google/client-AbCdEf',
      allowedAzp: ['1-a.apps.googleusercontent.com', '2-b.apps.googleusercontent.com'],
      requiredScopes: ['https://www.googleapis.com/auth/drive.appdata', 'openid'],
      refreshSchedule: 'cron(0 3 * * ? *)',
      workerMaxConcurrency: 20,
      googleQps: 2.5,
      alarmEmail: 'oncall@example.com',
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
    });
  });

  it('reports every bad value at once, each by its context key', () => {
    const problems = problemsOf({
      clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:google/client',
      allowedAzp: 'not-a-client-id',
      refreshSchedule: 'rate(1 hours)',
      workerMaxConcurrency: 1,
      apiRateLimit: 'fast',
      alarmEmail: 'oncall',
      corsOrigins: '*',
      redirectUri: 'http://example.com/callback',
    });
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual(
      [
        'alarmEmail',
        'allowedAzp',
        'apiRateLimit',
        'clientSecretArn',
        'corsOrigins',
        'redirectUri',
        'refreshSchedule',
        'workerMaxConcurrency',
      ].sort(),
    );
    expect(problems.find((p) => p.startsWith('workerMaxConcurrency'))).toBe(
      'workerMaxConcurrency: expected an integer from 2 to 1000, got "1"',
    );
  });

  it('names the way to fix it in the error message', () => {
    expect(() => read({ refreshSchedule: 'hourly' })).toThrow(
      /cdk\.json or with -c key=value[\s\S]*refreshSchedule: expected an EventBridge expression/,
    );
  });

  it.each(['rate(1 minute)', 'rate(5 minutes)', 'rate(2 hours)', 'rate(1 day)', 'cron(0/15 * * * ? *)'])(
    'accepts the schedule %s',
    (schedule) => {
      expect(problemsOf({ refreshSchedule: schedule })).toEqual([]);
    },
  );

  it.each(['rate(0 minutes)', 'rate(1 minutes)', 'rate(2 hour)', 'cron(* * * *)', 'every hour'])(
    'rejects the schedule %s',
    (schedule) => {
      expect(problemsOf({ refreshSchedule: schedule })).toHaveLength(1);
    },
  );
});
