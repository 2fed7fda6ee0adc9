import * as path from 'node:path';
import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PUBLIC_FUNCTIONS, type InfraConfig, type PublicFunctionName } from './config';
import { ConnectionEvents } from './constructs/connection-events';
import { Observability } from './constructs/observability';
import { PublicApi, type ApiRoute } from './constructs/public-api';
import { RefreshPipeline } from './constructs/refresh-pipeline';
import { ServiceFunction } from './constructs/service-function';
import { TokenStore } from './constructs/token-store';
import { refreshSizing } from '../lib/refresh/sizing';
import { ACCESS_TOKEN_PURPOSE } from '../lib/crypto/envelope';
import { TOKEN_TABLE } from '../lib/store/table-definition';
import { FUNCTION_SPECS, REPO_ROOT, functionEntry, type FunctionName } from './functions';

/** `POWERTOOLS_SERVICE_NAME` of every function: one value keeps the metrics' `service` dimension stable. */
export const SERVICE_NAME = 'google-offline-access';

export interface GoogleOfflineAccessStackProps extends StackProps {
  readonly config: InfraConfig;
  /** Folder holding one `<name>/index.ts` per function. @default `<repo root>/functions` */
  readonly functionsDir?: string;
  /** Where esbuild runs and finds `package-lock.json`. @default the repo root */
  readonly projectRoot?: string;
}

/** Why each public route has no API Gateway authorizer (cdk-nag APIG4). */
const AUTHENTICATED_BY: Record<PublicFunctionName, string> = {
  exchange:
    'Called before the user has any session: the one-time Google auth code is the credential, redeemed server-side; CSRF is blocked by the required X-Requested-With header.',
  disconnect:
    'The function verifies the Google ID token in Authorization (signature, iss, aud = the server client ID). A JWT authorizer cannot: the client ID lives in the secret, unknown at synth time.',
  connection:
    'The function verifies the Google ID token in Authorization exactly as /disconnect does (signature, iss, aud = the server client ID, exp). A JWT authorizer cannot: the client ID lives in the secret, unknown at synth time.',
  risc: "Google's RISC sender carries no AWS or bearer credentials: each request is a security event token whose RS256 signature, issuer and audience the function verifies.",
  driveNotifications:
    "Google's Drive push sender carries no credentials: the function checks the channel token (a per-channel secret, stored hashed) against the channel and resource ids it opened.",
};

/** Every function; `driveNotifications` only with the `drivePush` flag. */
export type StackFunctions = Record<Exclude<FunctionName, 'driveNotifications'>, ServiceFunction> & {
  driveNotifications?: ServiceFunction;
};

/**
 * Everything one `cdk deploy` creates: token store, public API, refresh pipeline,
 * observability, and the functions with exactly the permissions each one uses.
 */
export class GoogleOfflineAccessStack extends Stack {
  readonly store: TokenStore;
  readonly api: PublicApi;
  readonly pipeline: RefreshPipeline;
  readonly observability: Observability;
  readonly connectionEvents: ConnectionEvents;
  readonly functions: StackFunctions;

  constructor(scope: Construct, id: string, props: GoogleOfflineAccessStackProps) {
    super(scope, id, props);
    const { config } = props;
    const functionsDir = props.functionsDir ?? path.join(REPO_ROOT, 'functions');
    const projectRoot = props.projectRoot ?? REPO_ROOT;

    this.store = new TokenStore(this, 'TokenStore', {
      ...(config.clientSecretArn ? { clientSecretArn: config.clientSecretArn } : {}),
      ...(config.clientSecretKmsKeyArn ? { clientSecretKmsKeyArn: config.clientSecretKmsKeyArn } : {}),
    });
    const { table, key, clientSecret } = this.store;

    const addFunction = (name: FunctionName, environment: Record<string, string | undefined>): ServiceFunction => {
      const spec = FUNCTION_SPECS[name];
      const limits = isPublic(name) ? config.publicFunctions[name] : undefined;
      return new ServiceFunction(this, spec.id, {
        entry: functionEntry(functionsDir, spec),
        projectRoot,
        description: spec.description,
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        ...(limits?.reservedConcurrency ? { reservedConcurrency: limits.reservedConcurrency } : {}),
        environment: definedOnly({
          TABLE_NAME: table.tableName,
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
          ...environment,
        }),
      });
    };

    // Empty settings are left unset: the functions' defaults apply (see DESIGN.md).
    const allowedAzp = config.allowedAzp.join(',') || undefined;
    const requiredScopes = config.requiredScopes.join(' ');

    const exchange = addFunction('exchange', {
      KMS_KEY_ID: key.keyArn,
      GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn,
      GOOGLE_ALLOWED_AZP: allowedAzp,
      GOOGLE_REQUIRED_SCOPES: requiredScopes,
      GOOGLE_REDIRECT_URI: config.redirectUri || undefined,
    });
    const disconnect = addFunction('disconnect', {
      KMS_KEY_ID: key.keyArn,
      GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn,
      GOOGLE_ALLOWED_AZP: allowedAzp,
    });
    // RISC needs the client ID only (the `aud` of Google's security events), not the secret.
    const connection = addFunction('connection', {
      GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn,
      GOOGLE_ALLOWED_AZP: allowedAzp,
      GOOGLE_REQUIRED_SCOPES: requiredScopes,
    });
    const risc = addFunction(
      'risc',
      config.googleClientId
        ? { GOOGLE_CLIENT_ID: config.googleClientId, GOOGLE_ALLOWED_AZP: allowedAzp }
        : { GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn, GOOGLE_ALLOWED_AZP: allowedAzp },
    );
    if (!config.googleClientId) {
      Annotations.of(risc).addWarningV2(
        'google-offline-access:risc-reads-client-secret',
        'googleClientId is not set: the risc function reads the whole client secret to learn the client ID. Set -c googleClientId=<web client ID> so it needs no access to the secret.',
      );
    }
    // The worker continues checkpointed scan segments with the dispatcher's code, so both read these.
    // One project-wide allowance → environments × per-environment rate; explicit overrides win.
    const sizing = refreshSizing({
      googleRequestsPerSecond: config.googleRequestsPerSecond,
      maxUsersPerMessage: config.usersPerMessage,
      ...(config.workerMaxConcurrency !== undefined ? { workerMaxConcurrency: config.workerMaxConcurrency } : {}),
    });
    const dispatchSettings = {
      DISPATCH_SCAN_SEGMENTS: String(config.scanSegments),
      DISPATCH_USERS_PER_MESSAGE: String(sizing.usersPerMessage),
    };
    const dispatch = addFunction('refreshDispatch', dispatchSettings);
    const { workerMaxConcurrency } = sizing;
    const perEnvironmentQps = config.googleQps ?? sizing.perEnvironmentQps;
    const worker = addFunction('refreshWorker', {
      KMS_KEY_ID: key.keyArn,
      GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn,
      GOOGLE_REQUIRED_SCOPES: requiredScopes,
      REFRESH_JOBS: config.refreshJobs.join(','),
      GOOGLE_QPS: String(perEnvironmentQps),
      REFRESH_USER_CONCURRENCY: String(config.userConcurrency ?? sizing.userConcurrency),
      ...dispatchSettings,
    });
    // Reads no table, key or secret: the stream hands it the records (see ConnectionEvents).
    const connectionEvents = addFunction('connectionEvents', { GOOGLE_REQUIRED_SCOPES: requiredScopes });
    // Drive push (opt-in): Google's notifications in, early runs of one user out.
    const driveNotifications = config.drivePush ? addFunction('driveNotifications', {}) : undefined;
    // Access tokens for the company's own jobs: no route, invoked directly by roles given grantTokenAccess.
    const token = addFunction('token', {
      KMS_KEY_ID: key.keyArn,
      GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn,
    });
    this.functions = {
      exchange,
      disconnect,
      connection,
      risc,
      refreshDispatch: dispatch,
      refreshWorker: worker,
      connectionEvents,
      ...(driveNotifications ? { driveNotifications } : {}),
      token,
    };

    this.pipeline = new RefreshPipeline(this, 'RefreshPipeline', {
      schedule: events.Schedule.expression(config.refreshSchedule),
      workerMaxConcurrency,
      batchSize: sizing.batchSize,
      dispatcher: dispatch.function,
      worker: worker.function,
    });
    // On a message's last delivery the worker counts it finished, so a poison message cannot hold the cycle open.
    worker.function.addEnvironment('REFRESH_MAX_RECEIVES', String(this.pipeline.maxReceiveCount));

    // Least privilege: each function gets the operations its code performs, on the item
    // kinds it owns (dynamodb:LeadingKeys), nothing more.
    const { indexes } = TOKEN_TABLE;
    // Sign-in: the user record (Update); the exchange ledger record of the code (Get, Put,
    // Delete to forget a failed try).
    this.store.grantItems(
      exchange.function,
      ['user', 'exchange'],
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    // Encrypts new refresh tokens; never decrypts one.
    this.store.grantTokenKey(exchange.function, 'kms:GenerateDataKey');
    this.store.grantReadClientSecret(exchange.function);

    // Reads the user, then destroys the ciphertext with an update (the record stays, marked disconnected).
    this.store.grantItems(disconnect.function, ['user'], 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // Decrypts the stored token to revoke it at Google.
    this.store.grantTokenKey(disconnect.function, 'kms:Decrypt');
    this.store.grantReadClientSecret(disconnect.function);
    // A failed revoke is retried later through the refresh queue.
    this.pipeline.addProducer(disconnect.function);
    // Forgets the offline jobs' state of the user (after stopping its Drive channel at Google).
    this.store.grantItems(disconnect.function, ['jobState'], 'dynamodb:DeleteItem');

    // Reads the user record, nothing else: no KMS, no writes, no queue.
    this.store.grantItems(connection.function, ['user'], 'dynamodb:GetItem');
    // The client ID (the ID token's audience) is in the secret.
    this.store.grantReadClientSecret(connection.function);

    // The security-event ledger per `jti` (Put; Delete when processing failed) and the user
    // record (Get, Update).
    this.store.grantItems(
      risc.function,
      ['user', 'securityEvent'],
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    this.store.grantIndex(
      risc.function,
      'dynamodb:Query',
      indexes.tokenHash.indexName,
      indexes.tokenPrefixHash.indexName,
    );
    if (!config.googleClientId) this.store.grantReadClientSecret(risc.function);
    // A revoked user's offline jobs state is deleted.
    this.store.grantItems(risc.function, ['jobState'], 'dynamodb:DeleteItem');

    for (const scanner of [dispatch, worker]) {
      // Dispatcher and worker both walk the active-users index (the worker continues
      // segments the dispatcher checkpointed) and put refresh messages on the queue.
      this.store.grantIndex(scanner.function, 'dynamodb:Scan', indexes.activeUsers.indexName);
      this.pipeline.addProducer(scanner.function);
    }
    // The cycle item: a cycle starts only when the previous one finished; it counts its messages.
    this.store.grantItems(dispatch.function, ['refreshCycle'], 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // Lease, rotated token, refresh outcome, revoked mark: updates of the user record;
    // a revoke retry first reads the user (Get); the users of a claimed message are read in one BatchGetItem.
    this.store.grantItems(
      worker.function,
      ['user'],
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
    );
    // Claims of cycle messages, and the cycle item's count of finished messages.
    this.store.grantItems(worker.function, ['refreshCycle', 'refreshBatch'], 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // Decrypts stored tokens (and queued revokes); re-encrypts a refresh token Google rotated.
    this.store.grantTokenKey(worker.function, 'kms:Decrypt', 'kms:GenerateDataKey');
    this.store.grantReadClientSecret(worker.function);
    // The offline jobs' state (drive-changes' page token and push channel); a revoked user's is deleted.
    this.store.grantItems(
      worker.function,
      ['jobState'],
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    if (config.refreshJobs.includes('drive-changes')) {
      // `Drive Changes` events, on the default bus.
      worker.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [this.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
        }),
      );
    }
    if (driveNotifications) {
      // Reads the user's job state (the channel) and opens the burst window on it; queues the early run.
      this.store.grantItems(driveNotifications.function, ['jobState'], 'dynamodb:GetItem', 'dynamodb:UpdateItem');
      this.pipeline.addProducer(driveNotifications.function);
    }

    // User record (Get; Update for a rotated token or a dead grant) and the ACCESS# cache item
    // (Get; Update for the refresh lock and the cached token).
    this.store.grantItems(token.function, ['user', 'accessToken'], 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // Decrypts stored refresh tokens, re-encrypts one Google rotated (the worker's path).
    this.store.grantTokenKey(token.function, 'kms:Decrypt', 'kms:GenerateDataKey');
    // Encrypts and decrypts the cached access tokens, under their own purpose.
    this.store.grantKeyForPurpose(token.function, ACCESS_TOKEN_PURPOSE, 'kms:Decrypt', 'kms:GenerateDataKey');
    this.store.grantReadClientSecret(token.function);

    const route = (
      name: PublicFunctionName,
      fn: ServiceFunction,
      path: ApiRoute['path'],
      method?: ApiRoute['method'],
    ): ApiRoute => ({
      ...(method ? { method } : {}),
      path,
      handler: fn.function,
      throttle: config.publicFunctions[name],
      authenticatedBy: AUTHENTICATED_BY[name],
    });
    this.api = new PublicApi(this, 'Api', {
      routes: [
        route('exchange', exchange, '/authcode'),
        route('disconnect', disconnect, '/disconnect'),
        route('connection', connection, '/connection', 'GET'),
        route('risc', risc, '/risc'),
        ...(driveNotifications ? [route('driveNotifications', driveNotifications, '/drive/notifications')] : []),
      ],
      metricsNamespace: config.metricsNamespace,
      corsOrigins: config.corsOrigins,
    });

    if (driveNotifications) {
      worker.function.addEnvironment('DRIVE_PUSH_ADDRESS', `${this.api.url}drive/notifications`);
    }

    this.observability = new Observability(this, 'Observability', {
      functions: Object.fromEntries(Object.values(this.functions).map((fn) => [fn.node.id, fn.function])),
      api: this.api,
      pipeline: this.pipeline,
      dispatcher: dispatch.function,
      riscLogGroup: risc.logGroup,
      refreshSchedule: config.refreshSchedule,
      metricsNamespace: config.metricsNamespace,
      serviceName: SERVICE_NAME,
      revokedUsersPerHour: config.revokedUsersAlarmThreshold,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });

    // Its own construct, beside (not inside) Observability: it reuses only the alarm topic.
    this.connectionEvents = new ConnectionEvents(this, 'ConnectionEventsStream', {
      table,
      publisher: connectionEvents.function,
      ...(config.eventBusName ? { eventBusName: config.eventBusName } : {}),
      metricsNamespace: config.metricsNamespace,
      serviceName: SERVICE_NAME,
      alarmTopic: this.observability.topic,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'Base URL the apps call (POST /authcode, GET /connection, POST /disconnect); /risc is for Google',
    });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'TokenKeyArn', { value: key.keyArn });
    new CfnOutput(this, 'ClientSecretArn', {
      value: clientSecret.secretArn,
      description: 'Put the client_secret_*.json here',
    });
    new CfnOutput(this, 'RefreshQueueUrl', { value: this.pipeline.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.pipeline.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    new CfnOutput(this, 'MetricsNamespace', { value: config.metricsNamespace });
    new CfnOutput(this, 'RefreshDispatchFunctionName', {
      value: dispatch.function.functionName,
      description: 'Invoke it to start a refresh cycle now',
    });
    new CfnOutput(this, 'TokenFunctionArn', {
      value: token.function.functionArn,
      description: "Invoke it for a user's access token (roles given grantTokenAccess); see README",
    });
  }

  /**
   * Lets `grantee` (a job's role, in this stack or another of the same account) get users'
   * access tokens: exactly `lambda:InvokeFunction` on the token function, nothing else.
   */
  grantTokenAccess(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.functions.token.function.functionArn],
    });
  }
}

function isPublic(name: FunctionName): name is PublicFunctionName {
  return (PUBLIC_FUNCTIONS as readonly string[]).includes(name);
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
