import * as path from 'node:path';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { InfraConfig } from './config';
import { ConnectionEvents } from './constructs/connection-events';
import { Observability } from './constructs/observability';
import { PublicApi, type ApiRoute } from './constructs/public-api';
import { RefreshPipeline } from './constructs/refresh-pipeline';
import { ServiceFunction } from './constructs/service-function';
import { TokenStore } from './constructs/token-store';
import { TOKEN_TABLE } from '../lib/store/table-definition';
import { FUNCTION_SPECS, REPO_ROOT, functionEntry, type FunctionName } from './functions';

/** `POWERTOOLS_SERVICE_NAME` of every function: one value keeps the metrics' `service` dimension stable. */
export const SERVICE_NAME = 'google-offline-access';

export interface GoogleOfflineAccessStackProps extends StackProps {
  readonly config: InfraConfig;
  /**
   * Folder holding one `<name>/index.ts` per function; a function whose file is missing is
   * left out (with its routes, alarms and grants), so the stack synthesizes at every stage.
   * @default `<repo root>/functions`
   */
  readonly functionsDir?: string;
  /** Where esbuild runs and finds `package-lock.json`. @default the repo root */
  readonly projectRoot?: string;
}

/**
 * Everything one `cdk deploy` creates: token store, public API, refresh pipeline,
 * observability, and the five functions with exactly the permissions each one uses.
 */
export class GoogleOfflineAccessStack extends Stack {
  readonly store: TokenStore;
  readonly api: PublicApi;
  readonly pipeline: RefreshPipeline;
  readonly observability: Observability;
  readonly connectionEvents?: ConnectionEvents;
  readonly functions: Partial<Record<FunctionName, ServiceFunction>> = {};

  constructor(scope: Construct, id: string, props: GoogleOfflineAccessStackProps) {
    super(scope, id, props);
    const { config } = props;
    const functionsDir = props.functionsDir ?? path.join(REPO_ROOT, 'functions');
    const projectRoot = props.projectRoot ?? REPO_ROOT;

    this.store = new TokenStore(this, 'TokenStore', {
      ...(config.clientSecretArn ? { clientSecretArn: config.clientSecretArn } : {}),
    });
    const { table, key, clientSecret } = this.store;

    const addFunction = (
      name: FunctionName,
      environment: Record<string, string | undefined>,
    ): ServiceFunction | undefined => {
      const spec = FUNCTION_SPECS[name];
      const entry = functionEntry(functionsDir, spec);
      if (!entry) return undefined;
      const fn = new ServiceFunction(this, spec.id, {
        entry,
        projectRoot,
        description: spec.description,
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        environment: definedOnly({
          TABLE_NAME: table.tableName,
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
          ...environment,
        }),
      });
      this.functions[name] = fn;
      return fn;
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
    const risc = addFunction('risc', {
      GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn,
      GOOGLE_ALLOWED_AZP: allowedAzp,
    });
    // The worker continues checkpointed scan segments with the dispatcher's code, so both read these.
    const dispatchSettings = {
      DISPATCH_SCAN_SEGMENTS: String(config.scanSegments),
      DISPATCH_USERS_PER_MESSAGE: String(config.usersPerMessage),
    };
    const dispatch = addFunction('refreshDispatch', dispatchSettings);
    const connectionEvents = addFunction('connectionEvents', { GOOGLE_REQUIRED_SCOPES: requiredScopes });
    const worker = addFunction('refreshWorker', {
      KMS_KEY_ID: key.keyArn,
      GOOGLE_CLIENT_SECRET_ARN: clientSecret.secretArn,
      GOOGLE_REQUIRED_SCOPES: requiredScopes,
      REFRESH_JOBS: config.refreshJobs.join(','),
      GOOGLE_QPS: String(config.googleQps),
      REFRESH_USER_CONCURRENCY: String(config.userConcurrency),
      ...dispatchSettings,
    });

    this.pipeline = new RefreshPipeline(this, 'RefreshPipeline', {
      schedule: events.Schedule.expression(config.refreshSchedule),
      workerMaxConcurrency: config.workerMaxConcurrency,
      workerTimeout: FUNCTION_SPECS.refreshWorker.timeout,
      ...(dispatch ? { dispatcher: dispatch.function } : {}),
      ...(worker ? { worker: worker.function } : {}),
    });

    // Least privilege: each function gets the operations its code performs, nothing more.
    const { indexes } = TOKEN_TABLE;
    if (exchange) {
      // Sign-in record (Update); idempotency record of the code (Get, Put, Delete to forget a failed try).
      this.store.grantItems(
        exchange.function,
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      );
      // Encrypts new refresh tokens; never decrypts one.
      this.store.grantTokenKey(exchange.function, 'kms:GenerateDataKey');
      this.store.grantReadClientSecret(exchange.function);
    }
    if (disconnect) {
      // Reads the user, then destroys the ciphertext with an update (the record stays, marked disconnected).
      this.store.grantItems(disconnect.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
      // Decrypts the stored token to revoke it at Google.
      this.store.grantTokenKey(disconnect.function, 'kms:Decrypt');
      this.store.grantReadClientSecret(disconnect.function);
      // A failed revoke is retried later through the refresh queue.
      this.pipeline.addProducer(disconnect.function);
    }
    if (risc) {
      // Dedup record per `jti` (Put; Delete when processing failed), user record (Get, Update).
      this.store.grantItems(
        risc.function,
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
      this.store.grantReadClientSecret(risc.function);
    }
    for (const scanner of [dispatch, worker]) {
      if (!scanner) continue;
      // Dispatcher and worker both walk the active-users index (the worker continues
      // segments the dispatcher checkpointed) and put refresh messages on the queue.
      this.store.grantIndex(scanner.function, 'dynamodb:Scan', indexes.activeUsers.indexName);
      this.pipeline.addProducer(scanner.function);
    }
    if (worker) {
      // Lease, rotated token, refresh outcome, revoked mark: updates of the user record;
      // a revoke retry first reads the user (Get).
      this.store.grantItems(worker.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
      // Decrypts stored tokens (and queued revokes); re-encrypts a refresh token Google rotated.
      this.store.grantTokenKey(worker.function, 'kms:Decrypt', 'kms:GenerateDataKey');
      this.store.grantReadClientSecret(worker.function);
    }

    const routes: ApiRoute[] = [];
    if (exchange) {
      routes.push({
        path: '/authcode',
        handler: exchange.function,
        authenticatedBy:
          'Called before the user has any session: the one-time Google auth code is the credential, redeemed server-side; CSRF is blocked by the required X-Requested-With header.',
      });
    }
    if (disconnect) {
      routes.push({
        path: '/disconnect',
        handler: disconnect.function,
        authenticatedBy:
          'The function verifies the Google ID token in Authorization (signature, iss, aud = the server client ID). A JWT authorizer cannot: the client ID lives in the secret, unknown at synth time.',
      });
    }
    if (risc) {
      routes.push({
        path: '/risc',
        handler: risc.function,
        authenticatedBy:
          "Google's RISC sender carries no AWS or bearer credentials: each request is a security event token whose RS256 signature, issuer and audience the function verifies.",
      });
    }
    this.api = new PublicApi(this, 'Api', {
      routes,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      metricsNamespace: config.metricsNamespace,
      corsOrigins: config.corsOrigins,
    });

    this.observability = new Observability(this, 'Observability', {
      functions: Object.fromEntries(Object.values(this.functions).map((fn) => [fn.node.id, fn.function])),
      api: this.api,
      refreshQueue: this.pipeline.queue,
      deadLetterQueue: this.pipeline.deadLetterQueue,
      metricsNamespace: config.metricsNamespace,
      serviceName: SERVICE_NAME,
      revokedUsersPerHour: config.revokedUsersAlarmThreshold,
      ...(exchange ? { exchangeRouteKey: 'POST /authcode' } : {}),
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });

    // Its own construct, beside (not inside) Observability: it reuses only the alarm topic.
    if (connectionEvents) {
      this.connectionEvents = new ConnectionEvents(this, 'ConnectionEventsStream', {
        table,
        publisher: connectionEvents.function,
        ...(config.eventBusName ? { eventBusName: config.eventBusName } : {}),
        metricsNamespace: config.metricsNamespace,
        serviceName: SERVICE_NAME,
        alarmTopic: this.observability.topic,
      });
    }

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'Base URL the apps POST to (/authcode, /disconnect); /risc is for Google',
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
    if (dispatch) {
      new CfnOutput(this, 'RefreshDispatchFunctionName', {
        value: dispatch.function.functionName,
        description: 'Invoke it to start a refresh cycle now',
      });
    }
  }
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
