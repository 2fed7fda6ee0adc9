import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { StubProject, buildStack } from './support';

/** Every acknowledged cdk-nag rule in the tree: where, which, why. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

const CONTEXTS = {
  defaults: {},
  'every option set': {
    clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:google/client-AbCdEf',
    alarmEmail: 'oncall@example.com',
    corsOrigins: 'https://app.example.com',
    allowedAzp: '111-android.apps.googleusercontent.com',
    refreshJobs: 'appdata-summary,drive-changes',
    drivePush: 'true',
  },
};

let project: StubProject;
beforeAll(() => (project = new StubProject()));
afterAll(() => project.remove());

describe('cdk-nag AwsSolutions checks', () => {
  it.each(Object.entries(CONTEXTS))('find nothing unacknowledged with %s', (_name, context) => {
    const { app } = buildStack(project, { context });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (violation) =>
        `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}: ${violation.description}`,
    );
    expect(findings).toEqual([]);
  });

  it('let synthesis pass when registered as infra/app.ts registers them', () => {
    const { app } = buildStack(project);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it('fail synthesis on a finding nobody acknowledged', () => {
    const { app, stack } = buildStack(project);
    new sqs.Queue(stack, 'QueueWithoutDeadLetterQueue', { enforceSSL: true });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });

  it('are acknowledged only where a rule cannot apply, each with its reason', () => {
    const { app, stack } = buildStack(project);
    const found = acknowledgments(app).map(({ path, id }) => `${id} @ ${path.replace(`${stack.stackName}/`, '')}`);
    expect(found.sort()).toEqual(
      [
        // Google issues the client secret; only a person in the Google API Console can rotate it.
        'AwsSolutions-SMG4 @ TokenStore/ClientSecret',
        // CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key.
        'AwsSolutions-SNS2 @ Observability/AlarmTopic',
        // Each route authenticates its caller in the function (auth code, ID token, signed SET).
        'AwsSolutions-APIG4 @ Api/HttpApi/POST--authcode',
        'AwsSolutions-APIG4 @ Api/HttpApi/GET--connection',
        'AwsSolutions-APIG4 @ Api/HttpApi/POST--disconnect',
        'AwsSolutions-APIG4 @ Api/HttpApi/POST--risc',
        // The connection-events stream's on-failure destination is itself the last stop.
        'AwsSolutions-SQS3 @ ConnectionEventsStream/OnFailureQueue',
        // The runtime is pinned to the Node.js version the code is tested on.
        ...[
          'Exchange',
          'Connection',
          'Disconnect',
          'Risc',
          'RefreshDispatch',
          'RefreshWorker',
          'Token',
          'ConnectionEvents',
        ].map((id) => `AwsSolutions-L1 @ ${id}/Resource`),
      ].sort(),
    );
    for (const { reason } of acknowledgments(app)) expect(reason.length).toBeGreaterThan(60);
  });
});
