/**
 * Steps the offline Drive job suites share: the EventBridge stand-in, runs of the real
 * worker handler for chosen users, the job state as the functions store it, and a count
 * of the DynamoDB writes the worker's own client sends to job state items.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { RefreshUsersMessage } from '../../lib/refresh/messages';
import { DynamoJobStateStore, JOB_STATE_PREFIX } from '../../lib/store/dynamodb/job-state';
import { startEventBridgeEmulator, type EventBridgeEmulator } from '../../local/eventbridge-emulator';
import type { RequestLogEntry } from '../../local/google-emulator';
import type { TestStack } from './stack';

export type WorkerHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Starts the EventBridge stand-in and points `AWS_ENDPOINT_URL_EVENTBRIDGE` at it (restored on close). */
export async function startEventBus(): Promise<EventBridgeEmulator> {
  const events = await startEventBridgeEmulator();
  const previous = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = events.url;
  return {
    ...events,
    close: async () => {
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
      else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = previous;
      await events.close();
    },
  };
}

/** One `refresh` message of these users, handed to the worker as SQS would deliver it (a new cycle each call). */
export function refreshEvent(...users: string[]): SQSEvent {
  const body: RefreshUsersMessage = { kind: 'refresh', cycle: new Date().toISOString(), users };
  return {
    Records: [
      {
        messageId: `m-${Math.random().toString(36).slice(2)}`,
        receiptHandle: 'rh',
        body: JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:refresh',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

/** The job state store over the stack's table, as the functions build it. */
export const jobStatesOf = (stack: TestStack): DynamoJobStateStore =>
  new DynamoJobStateStore(new DynamoDBClient({}), stack.aws.tableName);

/** Drive requests the emulator saw for this user. */
export const driveRequestsOf = (stack: TestStack, sub: string): RequestLogEntry[] =>
  stack.google.requests().filter((entry) => entry.endpoint === 'drive' && entry.sub === sub);

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

/**
 * Counts the writes to job state items sent through `client` (the functions' own client,
 * from lib/aws/clients): a middleware that watches requests on their way out, changing nothing.
 */
export function countJobStateWrites(client: DynamoDBClient): { count(): number; reset(): void } {
  let writes = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: { pk?: { S?: string } } }).Key?.pk?.S;
      if (WRITES.has(context.commandName ?? '') && key?.startsWith(JOB_STATE_PREFIX)) writes += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countJobStateWrites' },
  );
  return { count: () => writes, reset: () => (writes = 0) };
}
