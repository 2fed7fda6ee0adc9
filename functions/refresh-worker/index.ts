/** SQS → the refresh worker; messages that should come back are listed in `batchItemFailures`. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaHandler } from '../../lib/lambda';
import { invocationDeadline } from '../../lib/refresh/deadline';
import { refreshWorkerFunction } from '../../lib/runtime/refresh-worker';

refreshWorkerFunction.prepare();

export const handler = lambdaHandler(async (event: SQSEvent, context): Promise<SQSBatchResponse> => {
  const deadline = invocationDeadline(context);
  const { batchItemFailures } = await (await refreshWorkerFunction.service()).processBatch(event.Records, deadline);
  return { batchItemFailures };
});
