/**
 * The whole local stack for an integration test file: DynamoDB + KMS (in-process, or moto
 * when AWS_ENDPOINT_URL_* are set) behind the local change feed (the table's stream), an SQS
 * queue, the Google emulator, the EventBridge stand-in, a client secret file, and the
 * contract's environment variables — then the handlers mounted behind the local HTTP API.
 * The real `functions/connection-events` handler consumes the table's stream, as in AWS.
 * Handlers must be imported after `startTestStack` (they read env at load).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  startGoogleEmulator,
  clientSecretJson,
  DEFAULT_LOCAL_CLIENT,
  type GoogleEmulator,
} from '../../local/google-emulator';
import { startHttpApi, type HttpApi, type Routes } from '../../local/http-api';
import { startSqsEmulator } from '../../local/sqs-emulator';
import { startChangeFeed, userRecordsOnly, type StreamConsumer } from '../../local/aws/change-feed';
import { startEventBridgeEmulator, type EventBridgeEmulator } from '../../local/eventbridge-emulator';
import { startAwsStack, type AwsStack } from './aws-stack';

export interface TestStack {
  aws: AwsStack;
  google: GoogleEmulator;
  clientId: string;
  queueUrl: string;
  /** Where connection events land (`AWS_ENDPOINT_URL_EVENTBRIDGE`). */
  eventBridge: EventBridgeEmulator;
  /** The real connection-events handler on the table's stream. */
  connectionEvents: StreamConsumer;
  /** Mounts handlers behind the local HTTP API (call after importing them). */
  serve(routes: Routes, options?: { corsOrigins?: string[] }): Promise<HttpApi>;
  close(): Promise<void>;
}

export interface TestStackOptions {
  allowedAzp?: string[];
  requiredScopes?: string[];
  redirectUri?: string;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const closers: (() => Promise<void>)[] = [];
  const aws = await startAwsStack();
  closers.push(() => aws.close());
  // Every write of the stack goes through the change feed, which is the table's stream.
  const feed = await startChangeFeed({ upstream: aws.dynamoUrl });
  const dynamoEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = feed.url;
  closers.push(async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
    await feed.close();
  });
  const eventBridge = await startEventBridgeEmulator({ port: 0 });
  const eventBridgeEndpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventBridge.url;
  closers.push(async () => {
    if (eventBridgeEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventBridgeEndpoint;
    await eventBridge.close();
  });
  if (!process.env.AWS_ENDPOINT_URL_SQS) {
    const sqs = await startSqsEmulator({ port: 0 });
    process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
    closers.push(async () => {
      delete process.env.AWS_ENDPOINT_URL_SQS;
      await sqs.close();
    });
  }
  const sqsClient = new SQSClient({});
  const queue = await sqsClient.send(
    new CreateQueueCommand({ QueueName: `refresh-${Date.now()}-${Math.random().toString(36).slice(2, 8)}` }),
  );
  sqsClient.destroy();

  const google = await startGoogleEmulator({ port: 0 });
  closers.push(() => google.close());
  const dir = await mkdtemp(join(tmpdir(), 'goa-test-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'client_secret.json');
  await writeFile(secretFile, clientSecretJson(DEFAULT_LOCAL_CLIENT));

  Object.assign(process.env, {
    TABLE_NAME: aws.tableName,
    KMS_KEY_ID: aws.kmsKeyId,
    REFRESH_QUEUE_URL: queue.QueueUrl!,
    GOOGLE_CLIENT_SECRET_FILE: secretFile,
    GOOGLE_EMULATOR_HOST: google.hostPort,
    GOOGLE_ALLOWED_AZP: (options.allowedAzp ?? []).join(','),
    GOOGLE_REQUIRED_SCOPES: (options.requiredScopes ?? ['https://www.googleapis.com/auth/drive.appdata']).join(' '),
    GOOGLE_REDIRECT_URI: options.redirectUri ?? '',
  });
  delete process.env.GOOGLE_CLIENT_SECRET_ARN;

  // As Lambda's event source mapping would: the stream, in order, with retries. The handler
  // loads on the first record, so a suite's own settings (log level, ...) made after
  // startTestStack apply to it as to the handlers the suite imports.
  const connectionEvents = feed
    .enableStream(aws.tableName, userRecordsOnly)
    .attach(async (event) => (await import('../../functions/connection-events')).handler(event), {
      retryDelayMs: 5,
    });
  closers.push(() => connectionEvents.stop());

  return {
    aws,
    google,
    clientId: DEFAULT_LOCAL_CLIENT.clientId,
    queueUrl: queue.QueueUrl!,
    eventBridge,
    connectionEvents,
    async serve(routes, options = {}) {
      const api = await startHttpApi(routes, { port: 0, ...options });
      closers.push(() => api.close());
      return api;
    },
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}
