/**
 * Embedded DynamoDB: dynalite in-process on 127.0.0.1 (pure Node, ~90 ms to start, in memory).
 * Chosen over DynamoDB Local (seconds to start, a JVM, listens on every interface).
 *
 * Limits to know: dynalite has no TransactWriteItems and no UpdateTimeToLive (DescribeTimeToLive
 * always says DISABLED, so items never expire), and it ignores ReturnValuesOnConditionCheckFailure.
 * Code that needs those is exercised against moto (`local/aws/with-moto.ts`).
 */
import { createServer, type RequestListener } from 'node:http';
import dynalite from 'dynalite';
import { listenOnLoopback, type LocalService } from './local-service';

export interface DynamoDbOptions {
  /** Default 0: any free port. */
  port?: number;
}

/** How long close() lets requests in flight finish. */
const DRAIN_MS = 2_000;

export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<LocalService> {
  // Tables are ACTIVE at once: nothing waits on CREATING.
  const database = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const handle = database.listeners('request')[0] as RequestListener;
  // dynalite throws, uncaught, when a request reaches a closed database. Work that outlives
  // a test (a timed-out cycle still writing) must not take the test process down: once
  // closing, requests get DynamoDB's own "unavailable" answer, and the database is simply
  // dropped (it is in memory).
  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = createServer((request, response) => {
    if (closing) {
      response.writeHead(503, { 'content-type': 'application/x-amz-json-1.0', connection: 'close' });
      response.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException' }));
      return;
    }
    inFlight += 1;
    response.once('close', () => {
      inFlight -= 1;
      if (closing && inFlight === 0) drained?.();
    });
    handle(request, response);
  });
  const service = await listenOnLoopback(server, options.port);
  return {
    url: service.url,
    close: async () => {
      closing = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, DRAIN_MS).unref();
        });
      }
      await service.close();
    },
  };
}
