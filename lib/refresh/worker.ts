/**
 * The refresh worker: one SQS batch of refresh-queue messages in, the messages to hand
 * back to SQS out (`batchItemFailures`).
 *
 * - `refresh`: its users, concurrently up to a bound shared by the whole batch. The message
 *   fails only when one of its users failed transiently (or was not started before the
 *   deadline); users already done are skipped on redelivery.
 * - `scan`: continues a checkpointed dispatch segment.
 * - `revoke`: retries a Google revocation queued by a disconnect.
 * - anything unreadable is logged and dropped: redelivering it would fail the same way forever.
 */
import { randomUUID } from 'node:crypto';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { describeError, logger } from '../log';
import { concurrencyLimit, type ConcurrencyLimit } from './concurrency';
import type { RefreshDispatcher } from './dispatch';
import {
  parseQueueMessage,
  type RefreshQueueMessage,
  type RefreshUsersMessage,
  type RevokeTokenMessage,
} from './messages';
import type { UserOutcome, UserRefresher } from './user-refresh';

/** The part of an SQS record the worker reads (Lambda's `SQSRecord` fits). */
export interface QueueRecord {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

export interface WorkerSummary {
  refreshed: number;
  revoked: number;
  /** Users whose refresh failed (transiently or not). */
  failed: number;
  skipped: number;
  /** Users not started because the invocation ran out of time (their message is retried). */
  deferred: number;
  /** Users a `scan` message put on the queue. */
  dispatched: number;
  /** `revoke` messages handled. */
  revocations: number;
  /** Unreadable messages dropped. */
  dropped: number;
}

/** What became of one user of a batch. */
export type UserBatchStatus = UserOutcome['status'] | 'deferred';

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
  summary: WorkerSummary;
  /** Each user of the batch's `refresh` messages, with what happened to them. */
  users: { userId: string; status: UserBatchStatus }[];
}

export interface RefreshWorkerDependencies {
  users: Pick<UserRefresher, 'refresh'>;
  dispatcher: Pick<RefreshDispatcher, 'continueSegment'>;
  /** Retries one queued revocation; throws when SQS should redeliver the message. */
  retryRevocation(message: RevokeTokenMessage, receiveCount: number): Promise<void>;
  metrics: Pick<Metrics, 'addMetric' | 'publishStoredMetrics' | 'hasStoredMetrics'>;
  /** Users refreshed at the same time across the batch. */
  userConcurrency: number;
  now?: () => number;
}

type NotStarted = { status: 'deferred' };

interface BatchState {
  summary: WorkerSummary;
  users: BatchResult['users'];
  limit: ConcurrencyLimit;
  owner: string;
  deadline: number | undefined;
}

export class RefreshWorker {
  private readonly now: () => number;

  constructor(private readonly deps: RefreshWorkerDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** @param deadline epoch ms after which no new user or segment page is started. */
  async processBatch(records: readonly QueueRecord[], deadline?: number): Promise<BatchResult> {
    const summary: WorkerSummary = {
      refreshed: 0,
      revoked: 0,
      failed: 0,
      skipped: 0,
      deferred: 0,
      dispatched: 0,
      revocations: 0,
      dropped: 0,
    };
    const batch: BatchState = {
      summary,
      users: [],
      limit: concurrencyLimit(this.deps.userConcurrency),
      owner: randomUUID(),
      deadline,
    };
    const succeeded = await Promise.all(records.map((record) => this.processRecord(record, batch)));
    const batchItemFailures = records
      .filter((_, i) => !succeeded[i])
      .map((record) => ({ itemIdentifier: record.messageId }));
    this.publishMetrics(summary);
    logger.info('refresh batch processed', {
      messages: records.length,
      failedMessages: batchItemFailures.length,
      ...summary,
    });
    return { batchItemFailures, summary, users: batch.users };
  }

  private async processRecord(record: QueueRecord, batch: BatchState): Promise<boolean> {
    let message: RefreshQueueMessage;
    try {
      message = parseQueueMessage(record.body);
    } catch {
      // Never log the body: a revoke message carries token ciphertext.
      logger.error('dropping an unreadable refresh queue message', {
        messageId: record.messageId,
        bytes: record.body.length,
      });
      batch.summary.dropped += 1;
      return true;
    }
    switch (message.kind) {
      case 'refresh':
        return this.refreshUsers(message, batch);
      case 'scan':
        try {
          batch.summary.dispatched += (await this.deps.dispatcher.continueSegment(message, batch.deadline)).users;
          return true;
        } catch (error) {
          logger.error('could not continue a dispatch segment', {
            messageId: record.messageId,
            segment: message.segment,
            error: describeError(error),
          });
          return false;
        }
      case 'revoke':
        try {
          await this.deps.retryRevocation(message, Number(record.attributes?.ApproximateReceiveCount ?? 1));
          batch.summary.revocations += 1;
          return true;
        } catch (error) {
          logger.warn('revocation retry failed; SQS will redeliver it', {
            messageId: record.messageId,
            userId: message.userId,
            error: describeError(error),
          });
          return false;
        }
    }
  }

  private async refreshUsers(message: RefreshUsersMessage, batch: BatchState): Promise<boolean> {
    const run = {
      cycle: message.cycle,
      owner: batch.owner,
      ...(batch.deadline !== undefined ? { deadline: batch.deadline } : {}),
    };
    const userIds = message.users.filter((userId): userId is string => typeof userId === 'string' && userId.length > 0);
    const outcomes = await Promise.all(
      userIds.map((userId) =>
        batch.limit<UserOutcome | NotStarted>(() =>
          batch.deadline !== undefined && this.now() >= batch.deadline
            ? Promise.resolve({ status: 'deferred' })
            : this.deps.users.refresh(userId, run),
        ),
      ),
    );
    outcomes.forEach((outcome, i) => {
      batch.summary[outcome.status] += 1;
      batch.users.push({ userId: userIds[i]!, status: outcome.status });
    });
    return outcomes.every(
      (outcome) => outcome.status !== 'deferred' && !(outcome.status === 'failed' && outcome.retryable),
    );
  }

  private publishMetrics(summary: WorkerSummary): void {
    const { metrics } = this.deps;
    if (summary.revoked) metrics.addMetric('RevokedUsers', MetricUnit.Count, summary.revoked);
    if (summary.refreshed) metrics.addMetric('RefreshedUsers', MetricUnit.Count, summary.refreshed);
    if (summary.failed) metrics.addMetric('FailedUserRefreshes', MetricUnit.Count, summary.failed);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}
