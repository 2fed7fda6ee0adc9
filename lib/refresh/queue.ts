/**
 * The queue ports. One SQS queue carries both: the dispatcher's refresh work and the
 * revocations a disconnect could not finish (see `messages.ts`); the adapters are in
 * `lib/aws/sqs-queues.ts`.
 */
import type { RefreshQueueMessage, RevokeTokenMessage } from './messages';

/** Where the dispatcher puts a cycle's work. */
export interface RefreshQueue {
  /** @throws QueueSendError when some message could not be queued after bounded resends. */
  send(messages: readonly RefreshQueueMessage[]): Promise<void>;
}

/** Where failed revocations wait for a retry. */
export interface RevocationQueue {
  /** @throws UpstreamUnavailableError when the queue does not take the message. */
  enqueue(message: RevokeTokenMessage, delaySeconds?: number): Promise<void>;
}

export class QueueSendError extends Error {
  override readonly name = 'QueueSendError';
}
