/**
 * The queue a failed Google revoke is retried through. Apart from `aws.ts` so that functions
 * that never queue a revocation (exchange, risc) do not carry the SQS client: every module in
 * a bundle is parsed at cold start.
 */
import { sqsClient } from '../aws/clients/sqs';
import { SqsRevocationQueue } from '../aws/sqs-queues';
import { requireEnv } from '../config';
import { once } from '../memo';

export const revocationQueue = once(() => new SqsRevocationQueue(sqsClient(), requireEnv('REFRESH_QUEUE_URL')));
