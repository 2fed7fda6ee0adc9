/**
 * Embedded DynamoDB: dynalite in-process on 127.0.0.1 (pure Node, ~90 ms to start, in memory).
 * Chosen over DynamoDB Local (seconds to start, a JVM, listens on every interface).
 *
 * Limits to know: dynalite has no TransactWriteItems and no UpdateTimeToLive (DescribeTimeToLive
 * always says DISABLED, so items never expire), and it ignores ReturnValuesOnConditionCheckFailure.
 * Code that needs those is exercised against moto (`local/aws/with-moto.ts`).
 */
import dynalite from 'dynalite';
import { listenOnLoopback, type LocalService } from './local-service';

export interface DynamoDbOptions {
  /** Default 0: any free port. */
  port?: number;
}

export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<LocalService> {
  // Tables are ACTIVE at once: nothing waits on CREATING.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  return listenOnLoopback(server, options.port);
}
