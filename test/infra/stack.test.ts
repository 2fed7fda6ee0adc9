import { Match, type Template } from 'aws-cdk-lib/assertions';
import { createTableInput } from '../../lib/store/table-definition';
import { FUNCTION_SPECS, type FunctionName } from '../../infra/functions';
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
  ],
  risc: [
    ...LOGS,
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'secretsmanager:GetSecretValue',
  ],
  refreshDispatch: [...LOGS, 'dynamodb:Scan', 'sqs:SendMessage'],
  refreshWorker: [
    ...LOGS,
    'dynamodb:GetItem',
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
  risc: ['TABLE_NAME', 'GOOGLE_CLIENT_SECRET_ARN', 'GOOGLE_ALLOWED_AZP'],
  refreshDispatch: ['TABLE_NAME', 'REFRESH_QUEUE_URL', 'DISPATCH_SCAN_SEGMENTS', 'DISPATCH_USERS_PER_MESSAGE'],
  refreshWorker: [
    'TABLE_NAME',
    'KMS_KEY_ID',
    'GOOGLE_CLIENT_SECRET_ARN',
    'GOOGLE_REQUIRED_SCOPES',
    'REFRESH_JOBS',
    'GOOGLE_QPS',
    'REFRESH_USER_CONCURRENCY',
    // Continuing checkpointed scan segments needs the dispatcher's settings and the queue.
    'REFRESH_QUEUE_URL',
    'DISPATCH_SCAN_SEGMENTS',
    'DISPATCH_USERS_PER_MESSAGE',
  ],
  // EVENT_BUS_NAME only when a bus is configured (see 'connection events').
  connectionEvents: ['TABLE_NAME', 'GOOGLE_REQUIRED_SCOPES'],
};
const COMMON_ENV = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'];

const CONTEXT = {
  allowedAzp: '111-android.apps.googleusercontent.com,222-ios.apps.googleusercontent.com',
  redirectUri: 'postmessage',
  refreshSchedule: 'rate(30 minutes)',
  workerMaxConcurrency: '7',
  apiRateLimit: '25',
  apiBurstLimit: '40',
  alarmEmail: 'oncall@example.com',
  metricsNamespace: 'Acme/GoogleAccess',
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
  if (!created) throw new Error(`${name} was not created`);
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

  it.each(ALL_FUNCTIONS)('%s gets exactly its environment, with source maps enabled', (name) => {
    const variables = (functionProps(name).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(variables).sort()).toEqual([...COMMON_ENV, ...EXPECTED_ENV[name]].sort());
    expect(variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it.each(ALL_FUNCTIONS)('%s logs to its own log group kept for a month', (name) => {
    const props = functionProps(name);
    const logGroupId = logicalIdOf(stack, fn(name).logGroup);
    expect(props.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
    expect(template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(30);
  });

  it('gives the dispatcher a long timeout and the API functions one below the API limit', () => {
    expect(functionProps('refreshDispatch').Timeout).toBeGreaterThanOrEqual(300);
    for (const name of ['exchange', 'disconnect', 'risc'] as const)
      expect(functionProps(name).Timeout).toBeLessThan(30);
  });

  it('passes the deployment parameters to the functions that read them', () => {
    const exchange = (functionProps('exchange').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(exchange.GOOGLE_ALLOWED_AZP).toBe(CONTEXT.allowedAzp);
    expect(exchange.GOOGLE_REDIRECT_URI).toBe('postmessage');
    expect(exchange.GOOGLE_REQUIRED_SCOPES).toBe('https://www.googleapis.com/auth/drive.appdata');
    expect(exchange.POWERTOOLS_METRICS_NAMESPACE).toBe('Acme/GoogleAccess');
    const worker = (functionProps('refreshWorker').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(worker).toMatchObject({ REFRESH_JOBS: 'appdata-summary', GOOGLE_QPS: '10', REFRESH_USER_CONCURRENCY: '8' });
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

  it('binds every token-key permission to the refresh-token encryption context', () => {
    for (const name of ALL_FUNCTIONS) {
      for (const statement of statementsOfRole(template, logicalIdOf(stack, fn(name).role))) {
        if (!toArray(statement.Action).some((action) => action.startsWith('kms:'))) continue;
        expect(statement.Condition).toEqual({
          StringEquals: { 'kms:EncryptionContext:purpose': 'google-refresh-token' },
        });
      }
    }
  });

  it('lets the key be used only by the granted roles, under the encryption context', () => {
    const [key] = Object.values(resourcesOfType(template, 'AWS::KMS::Key'));
    const statements = (
      key?.Properties?.KeyPolicy as { Statement: { Action: string | string[]; Condition?: unknown }[] }
    ).Statement;
    const crypto = statements.filter((s) => toArray(s.Action).some((a) => /Decrypt|Encrypt|GenerateDataKey/.test(a)));
    expect(crypto).toHaveLength(3); // exchange, disconnect, worker
    for (const statement of crypto) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:EncryptionContext:purpose': 'google-refresh-token' },
        ArnEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [expect.stringMatching(/Role/), 'Arn'] } },
      });
    }
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

  it('reads only the client secret', () => {
    const secretId = logicalIdOf(stack, stack.store.clientSecret);
    for (const name of ['exchange', 'disconnect', 'risc', 'refreshWorker'] as const) {
      const read = statementsOfRole(template, logicalIdOf(stack, fn(name).role)).find(
        (s) => s.Action === 'secretsmanager:GetSecretValue',
      );
      expect(read?.Resource).toEqual({ Ref: secretId });
    }
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

  it('creates the client secret empty, for the platform team to fill in', () => {
    const secrets = Object.values(resourcesOfType(template, 'AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.Properties).not.toHaveProperty('GenerateSecretString');
    expect(secrets[0]?.Properties).not.toHaveProperty('SecretString');
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
  const connectionEvents = () => stack.connectionEvents!;
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
    const publisher = built.functions.connectionEvents!;
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
        AlarmDescription: expect.stringMatching(/Publish the OAuth consent screen/),
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
  it('routes POST /authcode, /disconnect and /risc to their functions', () => {
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties?.RouteKey,
    );
    expect(routes.sort()).toEqual(['POST /authcode', 'POST /disconnect', 'POST /risc']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalIdOf(stack, fn('exchange').function), 'Arn'] },
    });
  });

  it('throttles the default stage from the configuration', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 40 },
    });
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
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://app.example.com'], AllowMethods: ['POST'] }),
    });
  });
});

describe('observability', () => {
  const alarms = () =>
    Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties ?? {});

  it('alarms on the dead-letter queue depth', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalIdOf(stack, stack.pipeline.deadLetterQueue), 'QueueName'] },
          },
        ],
      }),
    );
  });

  it.each(ALL_FUNCTIONS)('alarms on errors and throttles of %s', (name) => {
    const dimensions = [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(stack, fn(name).function) } }];
    expect(alarms()).toContainEqual(expect.objectContaining({ MetricName: 'Errors', Dimensions: dimensions }));
    expect(alarms()).toContainEqual(expect.objectContaining({ MetricName: 'Throttles', Dimensions: dimensions }));
  });

  it('alarms on the 5xx rate of POST /authcode', () => {
    const rate = alarms().find((a) => JSON.stringify(a.Metrics ?? []).includes('ApiServerErrors'));
    expect(JSON.stringify(rate?.Metrics)).toContain('POST /authcode');
    expect(rate?.Threshold).toBe(5);
  });

  it('alarms on a surge of revoked users in the Powertools namespace', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'Acme/GoogleAccess',
        MetricName: 'RevokedUsers',
        Dimensions: [{ Name: 'service', Value: 'google-offline-access' }],
        Threshold: 100,
      }),
    );
  });

  it('notifies the topic, which mails the configured address', () => {
    for (const alarm of alarms())
      expect(alarm.AlarmActions).toEqual([{ Ref: logicalIdOf(stack, stack.observability.topic) }]);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
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
    ]) {
      template.hasOutput(output, {});
    }
  });
});

describe('while functions are still being written', () => {
  it('wires only the functions whose entry file exists', () => {
    const partial = new StubProject(['exchange']);
    try {
      const built = buildStack(partial);
      const partialTemplate = templateOf(built.stack);
      expect(Object.keys(built.stack.functions)).toEqual(['exchange']);
      partialTemplate.resourceCountIs('AWS::Lambda::Function', 1);
      partialTemplate.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
      partialTemplate.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
      // The queue keeps its shape, so wiring the worker later does not change it.
      partialTemplate.hasResourceProperties('AWS::SQS::Queue', {
        VisibilityTimeout: RefreshPipeline.VISIBILITY_TIMEOUT_FACTOR * FUNCTION_SPECS.refreshWorker.timeout.toSeconds(),
      });
    } finally {
      partial.remove();
    }
  });
});
