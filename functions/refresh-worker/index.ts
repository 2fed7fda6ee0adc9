/** SQS → the refresh worker; messages that should come back are listed in `batchItemFailures`. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { invocationDeadline, type InvocationContext } from '../../lib/refresh/deadline';
import { refreshWorker, validateRefreshWorkerConfig } from '../../lib/refresh/runtime';

// Read and validate configuration at cold start: a bad variable fails loudly, by name.
validateRefreshWorkerConfig();

export const handler = async (event: SQSEvent, context?: InvocationContext): Promise<SQSBatchResponse> => {
  const deadline = invocationDeadline(context);
  const { batchItemFailures } = await (await refreshWorker()).processBatch(event.Records, deadline);
  return { batchItemFailures };
};
