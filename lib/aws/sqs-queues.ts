/**
 * The refresh queue on SQS, as both ports of `lib/refresh/queue.ts`.
 * SendMessageBatch takes ten entries per call and can accept part of a batch: the entries
 * SQS failed on its side are sent again a bounded number of times; an entry it rejects as
 * our fault is a bug and fails at once.
 */
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { UpstreamUnavailableError } from '../errors';
import { fullJitterDelay, sleep as realSleep } from '../refresh/backoff';
import type { UserRunQueue } from '../jobs/drive-notifications';
import type { RefreshQueueMessage, RefreshUsersMessage, RevokeTokenMessage } from '../refresh/messages';
import { QueueSendError, type RefreshQueue, type RevocationQueue } from '../refresh/queue';

const MAX_BATCH_ENTRIES = 10;
/** Batches of one `send` in flight at the same time. */
const BATCH_CONCURRENCY = 4;
const RESEND_POLICY = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2_000 };
/** SQS's longest message delay. */
const MAX_DELAY_SECONDS = 900;

export class SqsRefreshQueue implements RefreshQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly sleep: (ms: number) => Promise<void> = realSleep,
  ) {}

  async send(messages: readonly RefreshQueueMessage[]): Promise<void> {
    const batches: SendMessageBatchRequestEntry[][] = [];
    for (let start = 0; start < messages.length; start += MAX_BATCH_ENTRIES) {
      batches.push(
        messages
          .slice(start, start + MAX_BATCH_ENTRIES)
          .map((message, i) => ({ Id: `m${i}`, MessageBody: JSON.stringify(message) })),
      );
    }
    for (let start = 0; start < batches.length; start += BATCH_CONCURRENCY) {
      await Promise.all(batches.slice(start, start + BATCH_CONCURRENCY).map((batch) => this.sendBatch(batch)));
    }
  }

  private async sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const out = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
      const failed = out.Failed ?? [];
      if (failed.length === 0) return;
      const rejected = failed.find((entry) => entry.SenderFault);
      if (rejected)
        throw new QueueSendError(
          `SQS rejected a refresh message: ${rejected.Code ?? 'unknown'} ${rejected.Message ?? ''}`.trim(),
        );
      if (attempt >= RESEND_POLICY.maxAttempts) {
        throw new QueueSendError(
          `SQS failed ${failed.length} refresh message(s) ${attempt} times: ${failed[0]?.Code ?? 'unknown'}`,
        );
      }
      const failedIds = new Set(failed.map((entry) => entry.Id));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
      await this.sleep(fullJitterDelay(attempt, RESEND_POLICY));
    }
  }
}

export class SqsRevocationQueue implements RevocationQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  enqueue(message: RevokeTokenMessage, delaySeconds = 0): Promise<void> {
    return sendDelayed(
      this.sqs,
      this.queueUrl,
      message,
      delaySeconds,
      'The revocation could not be queued for a retry',
    );
  }
}

export const EARLY_RUN_TRIGGER = 'drive-push';

/** Early runs asked for by Drive push: one `refresh` message of one user, delayed so a burst makes one run. */
export class SqsUserRunQueue implements UserRunQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueueUserRun(userId: string, cycle: string, delaySeconds: number): Promise<void> {
    // `trigger` is for people reading the queue (and the local stack's poller); the worker ignores it.
    const message: RefreshUsersMessage & { trigger: string } = {
      kind: 'refresh',
      cycle,
      users: [userId],
      trigger: EARLY_RUN_TRIGGER,
    };
    await sendDelayed(this.sqs, this.queueUrl, message, delaySeconds, 'The early run could not be queued');
  }
}

/**
 * One message, delayed (within SQS's limit).
 * @throws UpstreamUnavailableError (`failure`) when SQS does not take it; the SDK error's body is not kept.
 */
async function sendDelayed(
  sqs: SQSClient,
  queueUrl: string,
  message: unknown,
  delaySeconds: number,
  failure: string,
): Promise<void> {
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(delaySeconds))),
      }),
    );
  } catch (error) {
    throw new UpstreamUnavailableError(failure, {
      cause: error instanceof Error ? new Error(`${error.name}: ${error.message}`) : undefined,
    });
  }
}
