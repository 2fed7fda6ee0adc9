/**
 * The refresh worker: one SQS batch of refresh-queue messages in, the messages to hand
 * back to SQS out (`batchItemFailures`).
 *
 * - `refresh`: its users, concurrently up to a bound shared by the whole batch. A cycle
 *   message (one with a `batch` id) is claimed as a whole in the refresh ledger first: no
 *   per-user write unless something changed. A claim another run holds sends the message
 *   back to SQS (after a crash, it is claimed again once the lease expires); a message of a
 *   cycle that has been replaced is dropped (its users are in the newer cycle). The message
 *   fails only when one of its users failed transiently (or was not started before the
 *   deadline); on redelivery only those users are processed again.
 * - `scan`: continues a checkpointed dispatch segment.
 * - `revoke`: retries a Google revocation queued by a disconnect.
 * - anything unreadable is logged and dropped: redelivering it would fail the same way forever.
 */
import { randomUUID } from 'node:crypto';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { describeError, logger } from '../log';
import type { CycleState, RefreshLedger } from '../store/refresh-ledger';
import type { UserRecord, UserStore } from '../store/users';
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
  /** Messages handed back because another run held their claim. */
  held: number;
  /** Messages of a replaced cycle, dropped. */
  stale: number;
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
  users: Pick<UserRefresher, 'refresh' | 'refreshUnderClaim'>;
  /** With a ledger, cycle messages are claimed per message (see lib/store/refresh-ledger.ts). */
  claims?: {
    ledger: RefreshLedger;
    store: Pick<UserStore, 'getUsers'>;
    /** How long a message claim keeps other runs off; at most the queue's visibility timeout. */
    leaseMs: number;
    /** The queue's maxReceiveCount: on the last delivery an unfinished message still counts as finished. */
    maxReceives: number;
  };
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
  /** Read once per batch, when a cycle message first needs it. */
  currentCycle?: Promise<CycleState | undefined>;
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
      held: 0,
      stale: 0,
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
        return message.batch && this.deps.claims
          ? this.refreshClaimedMessage(message as RefreshUsersMessage & { batch: string }, record, batch)
          : this.refreshUsers(message, batch);
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
    const userIds = validUserIds(message.users);
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

  /** A cycle message under one claim: see the file's comment. */
  private async refreshClaimedMessage(
    message: RefreshUsersMessage & { batch: string },
    record: QueueRecord,
    batch: BatchState,
  ): Promise<boolean> {
    const claims = this.deps.claims!;
    const { cycle } = message;
    const claimRef = { cycle, batch: message.batch, owner: batch.owner };
    try {
      batch.currentCycle ??= claims.ledger.currentCycle();
      const current = await batch.currentCycle;
      if (current && current.cycle !== cycle && Date.parse(current.cycle) > Date.parse(cycle)) {
        logger.warn('dropping a message of a replaced refresh cycle', { messageId: record.messageId, cycle });
        batch.summary.stale += 1;
        return true;
      }
      const claim = await claims.ledger.claimBatch({ ...claimRef, leaseMs: claims.leaseMs, nowMs: this.now() });
      if (claim.status === 'done') return true;
      if (claim.status === 'held') {
        batch.summary.held += 1;
        return false;
      }
      const userIds = claim.pending ?? validUserIds(message.users);
      const pending = await this.refreshUnderClaim(userIds, message, batch);
      const lastDelivery = Number(record.attributes?.ApproximateReceiveCount ?? 1) >= claims.maxReceives;
      await claims.ledger.finishBatch({ ...claimRef, pending, nowMs: this.now() });
      if (!pending.length || lastDelivery) await claims.ledger.recordMessagesDone(cycle, 1);
      return pending.length === 0;
    } catch (error) {
      // The claim (if taken) expires by itself; SQS redelivers the message after its visibility timeout.
      logger.error('could not process a refresh message', { messageId: record.messageId, error: describeError(error) });
      return false;
    }
  }

  /** Refreshes claimed users; answers those a redelivery must process again. */
  private async refreshUnderClaim(
    userIds: readonly string[],
    message: RefreshUsersMessage,
    batch: BatchState,
  ): Promise<string[]> {
    const run = {
      cycle: message.cycle,
      owner: batch.owner,
      ...(batch.deadline !== undefined ? { deadline: batch.deadline } : {}),
    };
    const records = new Map<string, UserRecord>();
    for (const found of await this.deps.claims!.store.getUsers(userIds)) records.set(found.userId, found);
    const outcomes = await Promise.all(
      userIds.map((userId) =>
        batch.limit<UserOutcome | NotStarted>(() =>
          batch.deadline !== undefined && this.now() >= batch.deadline
            ? Promise.resolve({ status: 'deferred' })
            : this.deps.users.refreshUnderClaim(userId, records.get(userId), run),
        ),
      ),
    );
    const pending: string[] = [];
    outcomes.forEach((outcome, i) => {
      const userId = userIds[i]!;
      batch.summary[outcome.status] += 1;
      batch.users.push({ userId, status: outcome.status });
      if (outcome.status === 'deferred' || (outcome.status === 'failed' && outcome.retryable)) pending.push(userId);
    });
    return pending;
  }

  private publishMetrics(summary: WorkerSummary): void {
    const { metrics } = this.deps;
    if (summary.revoked) metrics.addMetric('RevokedUsers', MetricUnit.Count, summary.revoked);
    if (summary.refreshed) metrics.addMetric('RefreshedUsers', MetricUnit.Count, summary.refreshed);
    if (summary.failed) metrics.addMetric('FailedUserRefreshes', MetricUnit.Count, summary.failed);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

function validUserIds(users: readonly unknown[]): string[] {
  return users.filter((userId): userId is string => typeof userId === 'string' && userId.length > 0);
}
