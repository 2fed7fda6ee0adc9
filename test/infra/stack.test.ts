import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RISC_REVOCATIONS } from '../../infra/constructs/observability';
import { createTableInput } from '../../lib/store/table-definition';
import { FUNCTION_SPECS, REPO_ROOT, type FunctionName } from '../../infra/functions';
import { RefreshPipeline } from '../../infra/constructs/refresh-pipeline';
import type { GoogleOfflineAccessStack } from '../../infra/stack';
import {
  ALL_FUNCTIONS,
  StubProject,
  actionsOfRole,
  buildStack,
  logicalIdOf,
  resourcesOfType,
  statementsOfRole,
  templateOf,
  toArray,
} from './support';

const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** The contract: every IAM action each function's role may perform, and nothing else. */
const EXPECTED_ACTIONS: Record<FunctionName, string[]> = {
  exchange: [
    ...LOGS,
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'kms:GenerateDataKey',
    'secretsmanager:GetSecretValue',
  ],
  disconnect: [
    ...LOGS,
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'kms:Decrypt',
    'secretsmanager:GetSecretValue',
    'sqs:SendMessage',
    // Only on job state items (JOBSTATE#).
    'dynamodb:DeleteItem',
  ],
  // Read-only: the user record and the client ID; no KMS, no writes, no queue.
  connection: [...LOGS, 'dynamodb:GetItem', 'secretsmanager:GetSecretValue'],
  // With googleClientId set (as here) it never reads the client secret.
  risc: [
    ...LOGS,
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
  ],
  // The cycle item (GetItem, UpdateItem) keeps cycles apart.
  refreshDispatch: [...LOGS, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Scan', 'sqs:SendMessage'],
  // User record and ACCESS# cache item; KMS under two purposes (refresh tokens, cached access tokens).
  token: [
    ...LOGS,
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'kms:Decrypt',
    'kms:GenerateDataKey',
    'secretsmanager:GetSecretValue',
  ],
  refreshWorker: [
    ...LOGS,
    'dynamodb:GetItem',
    // The users of a claimed message, in one request.
    'dynamodb:BatchGetItem',
    'dynamodb:UpdateItem',
    // Continues scan segments the dispatcher checkpointed, and queues their users.
    'dynamodb:Scan',
    'sqs:SendMessage',
    'kms:Decrypt',
    'kms:GenerateDataKey',
    'secretsmanager:GetSecretValue',
    // What the SQS event source mapping needs to poll the queue for the worker.
    'sqs:ReceiveMessage',
    'sqs:ChangeMessageVisibility',
    'sqs:GetQueueUrl',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    // A revoked user's job state (JOBSTATE# items only), and drive-changes' events.
    'dynamodb:DeleteItem',
    'events:PutEvents',
  ],
  connectionEvents: [
    ...LOGS,
    // What the stream's event source mapping needs, on the table's stream only.
    'dynamodb:DescribeStream',
    'dynamodb:GetRecords',
    'dynamodb:GetShardIterator',
    'dynamodb:ListStreams',
    // The on-failure destination.
    'sqs:SendMessage',
    'sqs:GetQueueAttributes',
    'sqs:GetQueueUrl',
    'events:PutEvents',
  ],
  driveNotifications: [...LOGS, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'sqs:SendMessage'],
};

const EXPECTED_ENV: Record<FunctionName, string[]> = {
  exchange: [
    'TABLE_NAME',
    'KMS_KEY_ID',
    'GOOGLE_CLIENT_SECRET_ARN',
    'GOOGLE_ALLOWED_AZP',
    'GOOGLE_REQUIRED_SCOPES',
    'GOOGLE_REDIRECT_URI',
  ],
  disconnect: ['TABLE_NAME', 'KMS_KEY_ID', 'REFRESH_QUEUE_URL', 'GOOGLE_CLIENT_SECRET_ARN', 'GOOGLE_ALLOWED_AZP'],
  connection: ['TABLE_NAME', 'GOOGLE_CLIENT_SECRET_ARN', 'GOOGLE_ALLOWED_AZP', 'GOOGLE_REQUIRED_SCOPES'],
  risc: ['TABLE_NAME', 'GOOGLE_CLIENT_ID', 'GOOGLE_ALLOWED_AZP'],
  refreshDispatch: ['TABLE_NAME', 'REFRESH_QUEUE_URL', 'DISPATCH_SCAN_SEGMENTS', 'DISPATCH_USERS_PER_MESSAGE'],
  token: ['TABLE_NAME', 'KMS_KEY_ID', 'GOOGLE_CLIENT_SECRET_ARN'],
  refreshWorker: [
    'TABLE_NAME',
    'KMS_KEY_ID',
    'GOOGLE_CLIENT_SECRET_ARN',
    'GOOGLE_REQUIRED_SCOPES',
    'REFRESH_JOBS',
    'GOOGLE_QPS',
    'REFRESH_USER_CONCURRENCY',
    'REFRESH_MAX_RECEIVES',
    // Continuing checkpointed scan segments needs the dispatcher's settings and the queue.
    'REFRESH_QUEUE_URL',
    'DISPATCH_SCAN_SEGMENTS',
    'DISPATCH_USERS_PER_MESSAGE',
    'DRIVE_PUSH_ADDRESS',
  ],
  // EVENT_BUS_NAME only when a bus is configured (see 'connection events').
  connectionEvents: ['TABLE_NAME', 'GOOGLE_REQUIRED_SCOPES'],
  driveNotifications: ['TABLE_NAME', 'REFRESH_QUEUE_URL'],
};
const COMMON_ENV = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'];

const CONTEXT = {
  googleClientId: '000-web.apps.googleusercontent.com',
  allowedAzp: '111-android.apps.googleusercontent.com,222-ios.apps.googleusercontent.com',
  redirectUri: 'postmessage',
  refreshSchedule: 'rate(30 minutes)',
  workerMaxConcurrency: '7',
  exchangeRateLimit: '25',
  exchangeBurstLimit: '40',
  riscConcurrency: '0',
  alarmEmail: 'oncall@example.com',
  metricsNamespace: 'Acme/GoogleAccess',
  refreshJobs: 'appdata-summary,drive-changes',
  drivePush: 'true',
};

let project: StubProject;
let stack: GoogleOfflineAccessStack;
let template: Template;

beforeAll(() => {
  project = new StubProject();
  ({ stack } = buildStack(project, { context: CONTEXT }));
  template = templateOf(stack);
});
afterAll(() => project.remove());

function fn(name: FunctionName) {
  const created = stack.functions[name];
  if (!created) throw new Error(`${name} was not created (drivePush is on in CONTEXT)`);
  return created;
}

function functionProps(name: FunctionName): Record<string, unknown> {
  const props = template.toJSON().Resources[logicalIdOf(stack, fn(name).function)]?.Properties as Record<
    string,
    unknown
  >;
  if (!props) throw new Error(`no properties for ${name}`);
  return props;
}

describe('functions', () => {
  it.each(ALL_FUNCTIONS)('%s has the construct id named after its folder', (name) => {
    expect(fn(name).node.id).toBe(FUNCTION_SPECS[name].id);
    expect(logicalIdOf(stack, fn(name).function)).toMatch(new RegExp(`^${FUNCTION_SPECS[name].id}[0-9A-F]{8}$`));
  });

  it.each(ALL_FUNCTIONS)('%s runs Node.js 22 or newer on ARM64', (name) => {
    const props = functionProps(name);
    expect(props.Architectures).toEqual(['arm64']);
    expect(Number(/^nodejs(\d+)\.x$/.exec(String(props.Runtime))?.[1])).toBeGreaterThanOrEqual(22);
    expect(props.Handler).toBe('index.handler');
  });

  it.each(ALL_FUNCTIONS)('%s gets exactly its environment (no NODE_OPTIONS: source maps cost cold start)', (name) => {
    const variables = (functionProps(name).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(variables).sort()).toEqual([...COMMON_ENV, ...EXPECTED_ENV[name]].sort());
  });

  it.each(ALL_FUNCTIONS)('%s logs to its own log group kept for a month, also after cdk destroy', (name) => {
    const props = functionProps(name);
    const logGroupId = logicalIdOf(stack, fn(name).logGroup);
    expect(props.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
    expect(template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(30);
    expect(template.toJSON().Resources[logGroupId].DeletionPolicy).toBe('Retain');
  });

  it('gives the dispatcher a long timeout and the public functions one that fits a sign-in', () => {
    expect(functionProps('refreshDispatch').Timeout).toBeGreaterThanOrEqual(300);
    for (const name of ['exchange', 'disconnect', 'connection', 'risc', 'driveNotifications'] as const)
      expect(functionProps(name).Timeout).toBeLessThanOrEqual(15);
  });

  it('bounds the public functions with reserved concurrency from the context', () => {
    expect(functionProps('exchange').ReservedConcurrentExecutions).toBe(20);
    expect(functionProps('disconnect').ReservedConcurrentExecutions).toBe(5);
    expect(functionProps('connection').ReservedConcurrentExecutions).toBe(10);
    // 0 means "reserve none" (accounts whose concurrency limit leaves nothing to reserve).
    expect(functionProps('risc').ReservedConcurrentExecutions).toBeUndefined();
    expect(functionProps('driveNotifications').ReservedConcurrentExecutions).toBe(10);
    const custom = templateOf(buildStack(project, { context: { exchangeConcurrency: '50' } }).stack);
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^POST /authcode'),
      ReservedConcurrentExecutions: 50,
    });
  });

  it('leaves the scheduled functions on the shared pool', () => {
    expect(functionProps('refreshDispatch').ReservedConcurrentExecutions).toBeUndefined();
    expect(functionProps('refreshWorker').ReservedConcurrentExecutions).toBeUndefined();
  });

  it('passes the deployment parameters to the functions that read them', () => {
    const exchange = (functionProps('exchange').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(exchange.GOOGLE_ALLOWED_AZP).toBe(CONTEXT.allowedAzp);
    expect(exchange.GOOGLE_REDIRECT_URI).toBe('postmessage');
    expect(exchange.GOOGLE_REQUIRED_SCOPES).toBe('https://www.googleapis.com/auth/drive.appdata');
    expect(exchange.POWERTOOLS_METRICS_NAMESPACE).toBe('Acme/GoogleAccess');
    const worker = (functionProps('refreshWorker').Environment as { Variables: Record<string, unknown> }).Variables;
    // The one Google allowance (default 100 requests/s) split over the 7 environments the context asks for.
    expect(worker).toMatchObject({
      REFRESH_JOBS: 'appdata-summary,drive-changes',
      GOOGLE_QPS: '14.285',
      REFRESH_USER_CONCURRENCY: '8',
      REFRESH_MAX_RECEIVES: String(RefreshPipeline.MAX_RECEIVE_COUNT),
    });
  });

  it('derives the worker fleet from the one Google allowance when nothing overrides it', () => {
    const derivedProject = new StubProject();
    try {
      const { stack: derived } = buildStack(derivedProject, { context: { googleRequestsPerSecond: '400' } });
      const derivedTemplate = templateOf(derived);
      const variables = (
        derivedTemplate.toJSON().Resources[logicalIdOf(derived, derived.functions.refreshWorker.function)]
          ?.Properties as { Environment: { Variables: Record<string, string> } }
      ).Environment.Variables;
      const mapping = Object.values(derivedTemplate.findResources('AWS::Lambda::EventSourceMapping'))[0] as {
        Properties: { ScalingConfig: { MaximumConcurrency: number } };
      };
      const environments = mapping.Properties.ScalingConfig.MaximumConcurrency;
      expect(environments).toBe(8);
      expect(Number(variables.GOOGLE_QPS) * environments).toBeLessThanOrEqual(400);
      expect(Number(variables.GOOGLE_QPS) * environments).toBeGreaterThan(399);
    } finally {
      derivedProject.remove();
    }
  });
});

describe('least privilege', () => {
  it.each(ALL_FUNCTIONS)('%s may perform exactly its own actions', (name) => {
    expect(actionsOfRole(template, logicalIdOf(stack, fn(name).role))).toEqual([...EXPECTED_ACTIONS[name]].sort());
  });

  it.each(ALL_FUNCTIONS)('%s has no wildcard action or resource and no managed policy', (name) => {
    const roleId = logicalIdOf(stack, fn(name).role);
    expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    for (const statement of statementsOfRole(template, roleId)) {
      expect(statement.Effect).toBe('Allow');
      for (const action of toArray(statement.Action)) expect(action).not.toContain('*');
      for (const resource of toArray(statement.Resource)) expect(JSON.stringify(resource)).not.toMatch(/"\*"|\/\*"/);
    }
  });

  it('binds every token-key permission to an encryption context: the access-token one for the token function only', () => {
    for (const name of ALL_FUNCTIONS) {
      const purposes = statementsOfRole(template, logicalIdOf(stack, fn(name).role))
        .filter((statement) => toArray(statement.Action).some((action) => action.startsWith('kms:')))
        .map((statement) => {
          expect(Object.keys(statement.Condition ?? {})).toEqual(['StringEquals']);
          return statement.Condition?.StringEquals?.['kms:EncryptionContext:purpose'];
        });
      for (const purpose of purposes) expect(['google-refresh-token', 'google-access-token']).toContain(purpose);
      expect(purposes.includes('google-access-token')).toBe(name === 'token');
    }
  });

  it('lets the key be used only by the granted roles, under the encryption context', () => {
    const [key] = Object.values(resourcesOfType(template, 'AWS::KMS::Key'));
    const statements = (
      key?.Properties?.KeyPolicy as { Statement: { Action: string | string[]; Condition?: unknown }[] }
    ).Statement;
    const crypto = statements.filter((s) => toArray(s.Action).some((a) => /Decrypt|Encrypt|GenerateDataKey/.test(a)));
    expect(crypto).toHaveLength(5); // exchange, disconnect, worker; token twice (one per purpose)
    for (const statement of crypto) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:EncryptionContext:purpose': expect.stringMatching(/^google-(refresh|access)-token$/) },
        ArnEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [expect.stringMatching(/Role/), 'Arn'] } },
      });
    }
    const accessPurpose = crypto.filter((statement) =>
      JSON.stringify(statement.Condition).includes('google-access-token'),
    );
    expect(accessPurpose.map((statement) => JSON.stringify(statement.Condition))).toEqual([
      expect.stringContaining(logicalIdOf(stack, fn('token').role)),
    ]);
    const everyAction = statements.flatMap((s) => toArray(s.Action));
    expect(everyAction.filter((action) => action.includes('*'))).toEqual([]);
    expect(everyAction).not.toContain('kms:CreateGrant');
  });

  it('scopes index access to the named indexes', () => {
    const tableId = logicalIdOf(stack, stack.store.table);
    const indexArn = (index: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${index}`]] });
    const query = statementsOfRole(template, logicalIdOf(stack, fn('risc').role)).find(
      (s) => s.Action === 'dynamodb:Query',
    );
    expect(query?.Resource).toEqual([indexArn('TokenHash'), indexArn('TokenPrefixHash')]);
    const scan = statementsOfRole(template, logicalIdOf(stack, fn('refreshDispatch').role)).find(
      (s) => s.Action === 'dynamodb:Scan',
    );
    expect(scan?.Resource).toEqual(indexArn('ActiveUsers'));
  });

  // One statement per group of item kinds; the job state grants are their own statements.
  it.each([
    ['exchange', [['USER#*', 'AUTHCODE#*']]],
    ['disconnect', [['USER#*'], ['JOBSTATE#*']]],
    ['risc', [['USER#*', 'RISC#*'], ['JOBSTATE#*']]],
    ['driveNotifications', [['JOBSTATE#*']]],
    ['token', [['USER#*', 'ACCESS#*']]],
  ] as const)('lets %s touch only the item kinds it owns', (name, prefixGroups) => {
    const itemStatements = statementsOfRole(template, logicalIdOf(stack, fn(name).role)).filter((s) =>
      toArray(s.Action).some((action) => /^dynamodb:(Get|Put|Update|Delete)Item$/.test(action)),
    );
    expect(itemStatements.map((statement) => statement.Condition)).toEqual(
      prefixGroups.map((prefixes) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...prefixes] } })),
    );
  });

  it('lets the refresh functions touch only the user records, the refresh ledger and job state', () => {
    const itemAccess = (name: FunctionName) =>
      statementsOfRole(template, logicalIdOf(stack, fn(name).role))
        .filter((s) => toArray(s.Action).some((action) => /^dynamodb:\w+Item$/.test(action)))
        .map((s) => ({
          actions: toArray(s.Action).sort(),
          kinds: (s.Condition as Record<string, Record<string, unknown>>)['ForAllValues:StringLike']?.[
            'dynamodb:LeadingKeys'
          ],
        }));
    expect(itemAccess('refreshDispatch')).toEqual([
      { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], kinds: ['REFRESHCYCLE#*'] },
    ]);
    expect(itemAccess('refreshWorker')).toEqual([
      { actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'], kinds: ['USER#*'] },
      { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], kinds: ['REFRESHCYCLE#*', 'REFRESHBATCH#*'] },
      // The offline jobs' state (drive-changes), deleted with a dead grant.
      { actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'], kinds: ['JOBSTATE#*'] },
    ]);
  });

  it('gives risc no access to the client secret when the client ID is configured', () => {
    const risc = statementsOfRole(template, logicalIdOf(stack, fn('risc').role));
    expect(risc.flatMap((s) => toArray(s.Action)).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('without googleClientId, lets risc read the secret and warns at synth', () => {
    const built = buildStack(project);
    const risc = built.stack.functions.risc;
    const variables = (
      templateOf(built.stack).toJSON().Resources[logicalIdOf(built.stack, risc.function)].Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(variables).toHaveProperty('GOOGLE_CLIENT_SECRET_ARN');
    expect(variables).not.toHaveProperty('GOOGLE_CLIENT_ID');
    Annotations.fromStack(built.stack).hasWarning('*', Match.stringLikeRegexp('googleClientId is not set'));
  });

  it('reads only the client secret', () => {
    const secretId = logicalIdOf(stack, stack.store.clientSecret);
    for (const name of ['exchange', 'disconnect', 'connection', 'refreshWorker', 'token'] as const) {
      const read = statementsOfRole(template, logicalIdOf(stack, fn(name).role)).find(
        (s) => s.Action === 'secretsmanager:GetSecretValue',
      );
      expect(read?.Resource).toEqual({ Ref: secretId });
    }
  });
});

describe('token function (access tokens for internal jobs)', () => {
  it('outputs its ARN', () => {
    template.hasOutput('TokenFunctionArn', {
      Value: { 'Fn::GetAtt': [logicalIdOf(stack, fn('token').function), 'Arn'] },
    });
  });

  it('has no public route and no resource policy: only IAM principals given access can invoke it', () => {
    const tokenId = logicalIdOf(stack, fn('token').function);
    const integrations = JSON.stringify(resourcesOfType(template, 'AWS::ApiGatewayV2::Integration'));
    expect(integrations).not.toContain(tokenId);
    const permissions = Object.values(resourcesOfType(template, 'AWS::Lambda::Permission'));
    expect(JSON.stringify(permissions)).not.toContain(tokenId);
    template.resourceCountIs('AWS::Lambda::Url', 0);
  });

  it('grants a job role in another stack exactly lambda:InvokeFunction on the token function', () => {
    const { app, stack: service } = buildStack(project);
    const jobs = new Stack(app, 'NightlyExport');
    const role = new iam.Role(jobs, 'ExportRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    service.grantTokenAccess(role);

    const jobTemplate = templateOf(jobs);
    const statements = statementsOfRole(jobTemplate, logicalIdOf(jobs, role));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::ImportValue': expect.stringContaining('Token') },
      },
    ]);
    // The service side only exports the ARN (CDK's cross-stack reference): no resource or policy changed.
    expect(templateOf(service).toJSON().Resources).toEqual(templateOf(buildStack(project).stack).toJSON().Resources);
  });

  it('grants a role in the same stack exactly lambda:InvokeFunction on the function ARN', () => {
    const { stack: service } = buildStack(project);
    const role = new iam.Role(service, 'SupportToolRole', { assumedBy: new iam.AccountRootPrincipal() });
    service.grantTokenAccess(role);
    expect(statementsOfRole(templateOf(service), logicalIdOf(service, role))).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [logicalIdOf(service, service.functions.token.function), 'Arn'] },
      },
    ]);
  });
});

describe('token store', () => {
  it('keeps the table: on demand, point-in-time recovery, deletion protection, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    });
  });

  it('declares exactly the keys and indexes local provisioning creates', () => {
    const local = createTableInput('any');
    const [table] = Object.values(resourcesOfType(template, 'AWS::DynamoDB::Table'));
    const props = table?.Properties as Record<string, unknown>;
    expect(props.KeySchema).toEqual(local.KeySchema);
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[]) =>
      [...items].sort((a, b) =>
        String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)),
      );
    expect(byName(props.AttributeDefinitions as never[])).toEqual(byName(local.AttributeDefinitions as never[]));
    expect(byName(props.GlobalSecondaryIndexes as never[])).toEqual(byName(local.GlobalSecondaryIndexes as never[]));
  });

  it('rotates and retains the token key', () => {
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ EnableKeyRotation: true }),
    });
  });

  it('creates the client secret empty, for the platform team to fill in, and keeps it on cdk destroy', () => {
    const secrets = Object.values(resourcesOfType(template, 'AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.Properties).not.toHaveProperty('GenerateSecretString');
    expect(secrets[0]?.Properties).not.toHaveProperty('SecretString');
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('lets the readers decrypt an imported secret under its customer-managed key, through Secrets Manager only', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:google/client-AbCdEf';
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/0b7e6a4c-1d2e-4f50-9a8b-7c6d5e4f3a2b';
    const built = buildStack(project, { context: { ...CONTEXT, clientSecretArn: arn, clientSecretKmsKeyArn: keyArn } });
    const imported = templateOf(built.stack);
    for (const name of ['exchange', 'disconnect', 'connection', 'refreshWorker'] as const) {
      const decrypt = statementsOfRole(imported, logicalIdOf(built.stack, built.stack.functions[name].role)).filter(
        (s) => s.Resource === keyArn,
      );
      expect(decrypt).toEqual([
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Condition: {
            StringEquals: {
              'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] },
              'kms:EncryptionContext:SecretARN': arn,
            },
          },
        }),
      ]);
    }
    const risc = statementsOfRole(imported, logicalIdOf(built.stack, built.stack.functions.risc.role));
    expect(risc.filter((s) => s.Resource === keyArn)).toEqual([]);
  });

  it('imports an existing secret by ARN instead of creating one', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:google/client-AbCdEf';
    const imported = templateOf(buildStack(project, { context: { clientSecretArn: arn } }).stack);
    imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: arn })]),
      },
    });
    imported.hasOutput('ClientSecretArn', { Value: arn });
  });
});

describe('refresh pipeline', () => {
  const queueId = () => logicalIdOf(stack, stack.pipeline.queue);
  const dlqId = () => logicalIdOf(stack, stack.pipeline.deadLetterQueue);

  it('keeps both queues (revoke retries, dead letters) on cdk destroy, with 14 days of retention', () => {
    for (const id of [queueId(), dlqId()]) {
      const queue = template.toJSON().Resources[id];
      expect(queue.DeletionPolicy).toBe('Retain');
      expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
  });

  it('sends poison messages to an encrypted dead-letter queue after a few deliveries', () => {
    const queue = template.toJSON().Resources[queueId()].Properties;
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId(), 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(template.toJSON().Resources[dlqId()].Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('keeps messages invisible for at least six times the worker timeout', () => {
    const visibility = template.toJSON().Resources[queueId()].Properties.VisibilityTimeout as number;
    expect(visibility).toBeGreaterThanOrEqual(
      RefreshPipeline.VISIBILITY_TIMEOUT_FACTOR * (functionProps('refreshWorker').Timeout as number),
    );
  });

  it('feeds the worker with partial batch failures and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId(), 'Arn'] },
      FunctionName: { Ref: logicalIdOf(stack, fn('refreshWorker').function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 7 },
    });
  });

  it('starts the dispatcher on the configured schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(30 minutes)',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf(stack, fn('refreshDispatch').function), 'Arn'] } }),
      ],
    });
  });

  it('tells the producers where the queue is', () => {
    for (const name of ['refreshDispatch', 'refreshWorker', 'disconnect'] as const) {
      const variables = (functionProps(name).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.REFRESH_QUEUE_URL).toEqual({ Ref: queueId() });
    }
  });
});

describe('connection events', () => {
  const connectionEvents = () => stack.connectionEvents;
  const tableId = () => logicalIdOf(stack, stack.store.table);

  it('gives the token table a stream with the item before and after each write', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('feeds the publisher the user records of the stream: partial failures, bisect, bounded retries, an on-failure queue', () => {
    const queueId = logicalIdOf(stack, connectionEvents().onFailureQueue);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [tableId(), 'StreamArn'] },
      FunctionName: { Ref: logicalIdOf(stack, fn('connectionEvents').function) },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86400,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { pk: { S: [{ prefix: 'USER#' }] } } } }) }],
      },
    });
    expect(template.toJSON().Resources[queueId].Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('reads only the table’s stream and puts events only on the default bus', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, fn('connectionEvents').role));
    const stream = statements.find((s) => toArray(s.Action).includes('dynamodb:GetRecords'));
    expect(stream?.Resource).toEqual({ 'Fn::GetAtt': [tableId(), 'StreamArn'] });
    const put = statements.find((s) => s.Action === 'events:PutEvents');
    expect(JSON.stringify(put?.Resource)).toMatch(/:event-bus\/default"/);
  });

  it('publishes to the configured bus, and only there, when eventBusName is set', () => {
    const built = buildStack(project, { context: { eventBusName: 'acme-events' } }).stack;
    const withBus = templateOf(built);
    const publisher = built.functions.connectionEvents;
    const props = withBus.toJSON().Resources[logicalIdOf(built, publisher.function)].Properties;
    expect(props.Environment.Variables.EVENT_BUS_NAME).toBe('acme-events');
    const put = statementsOfRole(withBus, logicalIdOf(built, publisher.role)).find(
      (s) => s.Action === 'events:PutEvents',
    );
    expect(JSON.stringify(put?.Resource)).toMatch(/:event-bus\/acme-events"/);
  });

  it('alarms on a Testing-mode expiry and on changes that could not be published', () => {
    const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties ?? {});
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'Acme/GoogleAccess',
        MetricName: 'ConnectionsLost',
        Dimensions: expect.arrayContaining([
          { Name: 'reason', Value: 'testing_mode_expiry' },
          { Name: 'service', Value: 'google-offline-access' },
        ]),
        Threshold: 1,
        AlarmDescription: expect.stringMatching(/publish the OAuth consent screen/),
        AlarmActions: [{ Ref: logicalIdOf(stack, stack.observability.topic) }],
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalIdOf(stack, connectionEvents().onFailureQueue), 'QueueName'] },
          },
        ],
      }),
    );
  });
});

describe('HTTP API', () => {
  it('routes POST /authcode, GET /connection, POST /disconnect, POST /risc and POST /drive/notifications to their functions', () => {
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties?.RouteKey,
    );
    expect(routes.sort()).toEqual([
      'GET /connection',
      'POST /authcode',
      'POST /disconnect',
      'POST /drive/notifications',
      'POST /risc',
    ]);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalIdOf(stack, fn('connection').function), 'Arn'] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalIdOf(stack, fn('exchange').function), 'Arn'] },
    });
  });

  it('throttles each route on its own, so junk on one cannot starve RISC deliveries or sign-ins', () => {
    const [stage] = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Stage'));
    expect(stage?.Properties?.RouteSettings).toEqual({
      'POST /authcode': { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 40 },
      'POST /disconnect': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /connection': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      'POST /risc': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      'POST /drive/notifications': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    // RouteSettings may only name routes that exist when the stage is created.
    const routeIds = Object.keys(resourcesOfType(template, 'AWS::ApiGatewayV2::Route'));
    expect(toArray(stage?.DependsOn as string[])).toEqual(expect.arrayContaining(routeIds));
  });

  it('keeps the access logs on cdk destroy', () => {
    expect(template.toJSON().Resources[logicalIdOf(stack, stack.api.accessLogs)].DeletionPolicy).toBe('Retain');
  });

  it('writes access logs without bodies, query strings or authorization headers', () => {
    const [stage] = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Stage'));
    const format = (stage?.Properties?.AccessLogSettings as { Format: string }).Format;
    expect(format).toContain('$context.requestId');
    expect(format).not.toMatch(/body|querystring|queryString|\$request\.header|authorization/i);
    // Valid JSON once API Gateway substitutes the variables (status is a bare number).
    expect(() => {
      JSON.parse(format.replace(/\$context\.status/, '200'));
    }).not.toThrow();
  });

  it('has no CORS unless origins are configured', () => {
    expect(template.toJSON().Resources[logicalIdOf(stack, stack.api.api)].Properties.CorsConfiguration).toBeUndefined();
    const withCors = templateOf(buildStack(project, { context: { corsOrigins: 'https://app.example.com' } }).stack);
    withCors.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://app.example.com'],
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: ['content-type', 'x-requested-with', 'authorization'],
      }),
    });
  });
});

describe('observability', () => {
  const alarms = () =>
    Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties ?? {});
  const alarmOn = (metricName: string, dimensionValue: unknown) =>
    alarms().find(
      (a) => a.MetricName === metricName && JSON.stringify(a.Dimensions ?? []).includes(JSON.stringify(dimensionValue)),
    );

  it('has exactly this set of alarms', () => {
    expect(stack.observability.alarms.map((alarm) => alarm.node.id).sort()).toEqual(
      [
        'DeadLetterQueueDepth',
        'RefreshQueueStuck',
        'RefreshNotDispatched',
        'RefreshCycleOverlap',
        ...ALL_FUNCTIONS.flatMap((name) => [`${FUNCTION_SPECS[name].id}Errors`, `${FUNCTION_SPECS[name].id}Throttles`]),
        'ServerErrorRatePOSTauthcode',
        'ServerErrorRatePOSTdisconnect',
        'ServerErrorRateGETconnection',
        'ServerErrorRatePOSTdrivenotifications',
        'ServerErrorRatePOSTrisc',
        'RevokedUsersSurge',
      ].sort(),
    );
    // Plus the connection events' own two (their construct, not Observability's).
    template.resourceCountIs('AWS::CloudWatch::Alarm', stack.observability.alarms.length + 2);
  });

  it('alarms on any message in the dead-letter queue', () => {
    const alarm = alarmOn('ApproximateNumberOfMessagesVisible', {
      'Fn::GetAtt': [logicalIdOf(stack, stack.pipeline.deadLetterQueue), 'QueueName'],
    });
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  it('alarms when the refresh queue is not drained within a cycle or the redelivery window', () => {
    const alarm = alarmOn('ApproximateAgeOfOldestMessage', {
      'Fn::GetAtt': [logicalIdOf(stack, stack.pipeline.queue), 'QueueName'],
    });
    // rate(30 minutes) here; five deliveries of 18 minutes' visibility is longer.
    expect(alarm).toMatchObject({ Threshold: 5 * 18 * 60, EvaluationPeriods: 3, Statistic: 'Maximum' });
  });

  it('alarms when the dispatcher misses its schedule (no invocation is a breach)', () => {
    const alarm = alarmOn('Invocations', { Ref: logicalIdOf(stack, fn('refreshDispatch').function) });
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Period: 3600, // two periods of rate(30 minutes)
    });
  });

  it.each(ALL_FUNCTIONS)('alarms on repeated errors and throttles of %s, never on a single one', (name) => {
    const ref = { Ref: logicalIdOf(stack, fn(name).function) };
    const errors = alarmOn('Errors', ref);
    const throttles = alarmOn('Throttles', ref);
    for (const alarm of [errors, throttles]) {
      expect(alarm).toBeDefined();
      expect(alarm?.Threshold as number).toBeGreaterThan(1);
      expect(alarm?.DatapointsToAlarm as number).toBeGreaterThanOrEqual(2);
    }
  });

  it.each(['POST /authcode', 'POST /disconnect', 'POST /risc'])(
    'alarms on the 5xx rate of %s, handled 5xx included',
    (routeKey) => {
      const rate = alarms().find(
        (a) =>
          JSON.stringify(a.Metrics ?? []).includes('ApiServerErrors') &&
          JSON.stringify(a.Metrics ?? []).includes(routeKey),
      );
      expect(rate).toMatchObject({ Threshold: 5, EvaluationPeriods: 2, DatapointsToAlarm: 2 });
      expect(JSON.stringify(rate?.Metrics)).toContain('requests >= 5');
    },
  );

  it('alarms on a surge of revoked users from the refresh worker and from RISC together', () => {
    const surge = alarms().find((a) => JSON.stringify(a.Metrics ?? []).includes('RevokedUsers'));
    const metrics = JSON.stringify(surge?.Metrics);
    expect(surge?.Threshold).toBe(100);
    expect(metrics).toContain('"MetricName":"RevokedUsers","Namespace":"Acme/GoogleAccess"');
    expect(metrics).toContain('"MetricName":"RiscRevocations","Namespace":"Acme/GoogleAccess"');
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logicalIdOf(stack, fn('risc').logGroup) },
      MetricTransformations: [
        Match.objectLike({ MetricName: 'RiscRevocations', MetricNamespace: 'Acme/GoogleAccess' }),
      ],
    });
  });

  it('counts the RISC revocations by what the risc receiver logs when it destroyed a grant', () => {
    const receiver = readFileSync(path.join(REPO_ROOT, 'lib/risc/receiver.ts'), 'utf8');
    // If these log lines change, change RISC_REVOCATIONS with them.
    expect(receiver).toMatch(/logger\.info\(\s*'risc: token-revoked processed',[^;]*\brevokedUsers: /);
    expect(receiver).toMatch(/logger\.info\(\s*`risc: \$\{name\} processed`,[^;]*\btokenDestroyed: /);
    expect(RISC_REVOCATIONS.logPatternString).toBe(
      '{ (($.message = "risc: token-revoked processed") && ($.revokedUsers[0] = "*")) || ' +
        '(($.message = "risc: tokens-revoked processed") && ($.tokenDestroyed IS TRUE)) || ' +
        '(($.message = "risc: account-disabled processed") && ($.tokenDestroyed IS TRUE)) }',
    );
  });

  it('says in every alarm what is wrong and what to do', () => {
    for (const alarm of alarms()) expect(String(alarm.AlarmDescription)).toMatch(/\. Do: \S/);
  });

  it('alarms when a refresh cycle was still running as the next one was due', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'Acme/GoogleAccess',
        MetricName: 'RefreshCycleOverlaps',
        Dimensions: [{ Name: 'service', Value: 'google-offline-access' }],
        Threshold: 1,
      }),
    );
  });

  it('notifies the topic, which mails the configured address', () => {
    for (const alarm of alarms())
      expect(alarm.AlarmActions).toEqual([{ Ref: logicalIdOf(stack, stack.observability.topic) }]);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('NOBODY WILL RECEIVE ALARMS'));
  });

  it('warns loudly at synth when nobody will receive the alarms', () => {
    const { stack: silent } = buildStack(project);
    Annotations.fromStack(silent).hasWarning(
      '/GoogleOfflineAccess/Observability',
      Match.stringLikeRegexp('NOBODY WILL RECEIVE ALARMS: alarmEmail is not set'),
    );
    templateOf(silent).resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('keeps the metrics of two environments in one account apart', () => {
    const namespaces = (context: Record<string, unknown>) => {
      const built = templateOf(buildStack(project, { context }).stack);
      const filters = Object.values(resourcesOfType(built, 'AWS::Logs::MetricFilter')).map((f) =>
        JSON.stringify(f.Properties?.MetricTransformations),
      );
      const fns = Object.values(resourcesOfType(built, 'AWS::Lambda::Function')).map(
        (f) =>
          (f.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.POWERTOOLS_METRICS_NAMESPACE,
      );
      return { filters, fns };
    };
    const production = namespaces({});
    const staging = namespaces({ stackName: 'GoogleOfflineAccess-staging' });
    expect(new Set(production.fns)).toEqual(new Set(['GoogleOfflineAccess']));
    expect(new Set(staging.fns)).toEqual(new Set(['GoogleOfflineAccess-staging']));
    for (const filter of staging.filters) expect(filter).toContain('"MetricNamespace":"GoogleOfflineAccess-staging"');
    for (const filter of production.filters) expect(filter).toContain('"MetricNamespace":"GoogleOfflineAccess"');
  });

  it('has a dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('outputs what the platform team needs', () => {
    for (const output of [
      'ApiUrl',
      'TableName',
      'TokenKeyArn',
      'ClientSecretArn',
      'RefreshQueueUrl',
      'DeadLetterQueueUrl',
      'AlarmTopicArn',
      'DashboardName',
      'MetricsNamespace',
      'RefreshDispatchFunctionName',
    ]) {
      template.hasOutput(output, {});
    }
  });
});
