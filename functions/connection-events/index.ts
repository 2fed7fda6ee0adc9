/** The token table's DynamoDB stream → one `Connection Status Changed` event per change of status or reason. */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { lambdaHandler } from '../../lib/lambda';
import { connectionEventsFunction } from '../../lib/runtime/connection-events';

connectionEventsFunction.prepare();

export const handler = lambdaHandler(async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const { batchItemFailures } = await (await connectionEventsFunction.service()).processRecords(event.Records);
  return { batchItemFailures };
});
