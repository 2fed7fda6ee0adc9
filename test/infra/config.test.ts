import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CONTEXT_DEFAULTS, InfraConfigError, readInfraConfig } from '../../infra/config';
import { REPO_ROOT } from '../../infra/functions';
import { JOB_NAMES } from '../../lib/jobs/names';
import { selectJobs } from '../../lib/jobs/registry';

/** As `infra/app.ts` reads it: every key given is also checked against the known ones. */
const read = (context: Record<string, unknown>) => readInfraConfig((key) => context[key], Object.keys(context));

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
      publicFunctions: {
        exchange: { rateLimit: 20, burstLimit: 40, reservedConcurrency: 20 },
        disconnect: { rateLimit: 5, burstLimit: 10, reservedConcurrency: 5 },
        connection: { rateLimit: 20, burstLimit: 40, reservedConcurrency: 10 },
        risc: { rateLimit: 10, burstLimit: 20, reservedConcurrency: 5 },
        driveNotifications: { rateLimit: 50, burstLimit: 100, reservedConcurrency: 10 },
      },
      corsOrigins: [],
      metricsNamespace: 'GoogleOfflineAccess',
      revokedUsersAlarmThreshold: 100,
      drivePush: false,
    });
  });

  it('derives the metrics namespace from the stack name unless it is set', () => {
    expect(read({ stackName: 'GoogleOfflineAccess-staging' }).metricsNamespace).toBe('GoogleOfflineAccess-staging');
    expect(read({ stackName: 'GoogleOfflineAccess-staging', metricsNamespace: 'Acme/Staging' }).metricsNamespace).toBe(
      'Acme/Staging',
    );
    expect(problemsOf({ metricsNamespace: 'AWS/Lambda' })).toEqual([expect.stringMatching(/^metricsNamespace: /)]);
  });

  it('fails on an unknown context key, naming it and the key it was probably meant to be', () => {
    expect(problemsOf({ alarmEmial: 'oncall@example.com' })).toEqual([
      'alarmEmial: unknown context key (did you mean alarmEmail?); known keys are listed in cdk.json',
    ]);
    expect(problemsOf({ refreshShedule: 'rate(1 hour)', somethingElse: 1 }).map((p) => p.split(':')[0])).toEqual([
      'refreshShedule',
      'somethingElse',
    ]);
  });

  it('says what replaced a key that is no longer read', () => {
    expect(problemsOf({ apiRateLimit: 50 })).toEqual([
      expect.stringMatching(/^apiRateLimit: no longer read; .*exchangeRateLimit/),
    ]);
  });

  it("leaves CDK's own context keys alone", () => {
    expect(
      problemsOf({
        '@aws-cdk/core:failSynthOnValidationErrors': true,
        'aws:cdk:bundling-stacks': [],
        'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
        'acknowledged-issue-numbers': [1234],
      }),
    ).toEqual([]);
  });

  it('fails on a job the worker does not know, listing the ones it does', () => {
    expect(problemsOf({ refreshJobs: 'appdata-summary,appdata-sumary' })).toEqual([
      'refreshJobs: expected comma-separated names of jobs the worker knows (appdata-summary, drive-changes), got "appdata-sumary"',
    ]);
    expect(problemsOf({ refreshJobs: 'appdata-summary,appdata-summary' })).toEqual([
      expect.stringMatching(/^refreshJobs: a job is named twice/),
    ]);
  });

  it('accepts exactly the job names the worker registry selects', () => {
    const jobs = selectJobs(JOB_NAMES);
    expect(jobs.map((job) => job.name)).toEqual([...JOB_NAMES]);
    expect(read({ refreshJobs: JOB_NAMES.join(',') }).refreshJobs).toEqual([...JOB_NAMES]);
  });

  it('takes 0 as "reserve no concurrency" and bounds the rest', () => {
    expect(read({ exchangeConcurrency: 0 }).publicFunctions.exchange).toEqual({ rateLimit: 20, burstLimit: 40 });
    expect(problemsOf({ exchangeConcurrency: 501, riscConcurrency: -1 }).map((p) => p.split(':')[0])).toEqual([
      'exchangeConcurrency',
      'riscConcurrency',
    ]);
  });

  it('accepts a KMS key for an imported secret only', () => {
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/0b7e6a4c-1d2e-4f50-9a8b-7c6d5e4f3a2b';
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:google/client-AbCdEf';
    expect(read({ clientSecretArn: secretArn, clientSecretKmsKeyArn: keyArn }).clientSecretKmsKeyArn).toBe(keyArn);
    expect(problemsOf({ clientSecretKmsKeyArn: keyArn })).toEqual([expect.stringMatching(/^clientSecretKmsKeyArn: /)]);
    expect(problemsOf({ clientSecretArn: secretArn, clientSecretKmsKeyArn: 'alias/mine' })).toHaveLength(1);
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
      exchangeRateLimit: 'fast',
      alarmEmail: 'oncall',
      corsOrigins: '*',
      redirectUri: 'http://example.com/callback',
    });
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual(
      [
        'alarmEmail',
        'allowedAzp',
        'clientSecretArn',
        'exchangeRateLimit',
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

describe('cdk synth', () => {
  it('fails before building anything on an unknown context key, naming it', () => {
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'infra/app.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      // How the CDK CLI hands context (cdk.json plus -c) to the app.
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ alarmEmial: 'oncall@example.com', refreshJobs: 'nope' }),
      },
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('alarmEmial: unknown context key (did you mean alarmEmail?)');
    expect(run.stderr).toContain('refreshJobs: expected comma-separated names of jobs the worker knows');
    expect(run.stderr).not.toMatch(/\n\s+at /); // a list of problems, not a stack trace
  });
});
