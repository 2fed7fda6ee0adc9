/**
 * The dispatcher: every user with an active refresh token, onto the refresh queue.
 *
 * It walks the sparse ActiveUsers index with a parallel scan (one task per segment, keys
 * only) and sends `refresh` messages of a few users each. No invocation grows with the
 * table: when the time budget runs out, each unfinished segment is checkpointed as a `scan`
 * message carrying its LastEvaluatedKey, and the worker continues it with the same code.
 * Every run reads at least one page per segment before checking the clock, so even a tiny
 * budget makes progress.
 *
 * With a refresh ledger, a cycle starts only when the previous one has finished (or timed
 * out): a schedule firing while a cycle still runs enqueues nobody, counts a
 * `RefreshCycleOverlaps` metric (an alarm watches it) and returns `overlapped`. Every
 * message carries a `batch` id the worker claims it under.
 */
import { createHash } from 'node:crypto';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logger } from '../log';
import type { RefreshLedger } from '../store/refresh-ledger';
import type { ScanCursor, UserStore } from '../store/users';
import type { DispatchConfig } from './config';
import type { RefreshUsersMessage, ScanSegmentMessage } from './messages';
import type { RefreshQueue } from './queue';

export interface DispatchResult {
  /** Users put on the queue. */
  users: number;
  /** `refresh` messages sent. */
  messages: number;
  /** Segments worked on. */
  segments: number;
  /** Segments left unfinished and sent on as `scan` messages. */
  checkpointed: number;
  /** Set when the previous cycle was still running: nothing was enqueued. */
  overlapped?: { runningCycle: string };
}

export interface DispatcherDependencies {
  store: Pick<UserStore, 'scanActiveUsers'>;
  queue: RefreshQueue;
  config: Pick<DispatchConfig, 'scanSegments' | 'usersPerMessage' | 'scanPageSize'> &
    Partial<Pick<DispatchConfig, 'cycleTimeoutMs'>>;
  /** Keeps cycles apart and counts their messages; without it, every firing dispatches. */
  ledger?: RefreshLedger;
  metrics?: Pick<Metrics, 'addMetric' | 'publishStoredMetrics'>;
  now?: () => number;
}

export interface DispatchOptions {
  /** Identifies the cycle (ISO time); a user refreshed since then is skipped. Default: now. */
  cycle?: string;
  /** Epoch ms after which unfinished segments are checkpointed. Default: none. */
  deadline?: number;
}

interface SegmentPosition {
  segment: number;
  totalSegments: number;
  cursor?: ScanCursor;
}

export class RefreshDispatcher {
  private readonly now: () => number;

  constructor(private readonly deps: DispatcherDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** Starts a cycle: all segments in parallel. */
  async dispatchCycle(options: DispatchOptions = {}): Promise<DispatchResult> {
    const cycle = options.cycle ?? new Date(this.now()).toISOString();
    const totalSegments = this.deps.config.scanSegments;
    const { ledger, metrics } = this.deps;
    if (ledger) {
      const start = await ledger.startCycle({
        cycle,
        nowMs: this.now(),
        timeoutMs: this.deps.config.cycleTimeoutMs ?? DEFAULT_CYCLE_TIMEOUT_MS,
        totalSegments,
      });
      if (!start.started) {
        const { running } = start;
        logger.warn('the previous refresh cycle is still running: this one enqueues nobody', {
          cycle,
          runningCycle: running.cycle,
          messages: running.messages,
          messagesDone: running.messagesDone,
          segmentsDone: running.segmentsDone,
          totalSegments: running.totalSegments,
        });
        if (metrics) {
          metrics.addMetric('RefreshCycleOverlaps', MetricUnit.Count, 1);
          metrics.publishStoredMetrics();
        }
        return { users: 0, messages: 0, segments: 0, checkpointed: 0, overlapped: { runningCycle: running.cycle } };
      }
    }
    const results = await Promise.all(
      Array.from({ length: totalSegments }, (_, segment) =>
        this.runSegment(cycle, { segment, totalSegments }, options.deadline),
      ),
    );
    const result = results.reduce(addResults, { users: 0, messages: 0, segments: 0, checkpointed: 0 });
    logger.info('refresh cycle dispatched', { cycle, ...result });
    return result;
  }

  /** Continues a segment a previous run checkpointed (a `scan` message). */
  async continueSegment(message: ScanSegmentMessage, deadline?: number): Promise<DispatchResult> {
    const position: SegmentPosition = {
      segment: message.segment,
      totalSegments: message.totalSegments,
      ...(message.startKey ? { cursor: message.startKey } : {}),
    };
    return this.runSegment(message.cycle, position, deadline);
  }

  private async runSegment(
    cycle: string,
    position: SegmentPosition,
    deadline: number | undefined,
  ): Promise<DispatchResult> {
    const result: DispatchResult = { users: 0, messages: 0, segments: 1, checkpointed: 0 };
    let cursor = position.cursor;
    do {
      const page = await this.deps.store.scanActiveUsers({
        segment: position.segment,
        totalSegments: position.totalSegments,
        limit: this.deps.config.scanPageSize,
        ...(cursor ? { cursor } : {}),
      });
      const messages = this.refreshMessages(cycle, page.userIds);
      // Counted before sending: a count above what was sent keeps the cycle open (the safe error).
      await this.deps.ledger?.recordDispatch(cycle, {
        messages: messages.length,
        segmentsDone: page.nextCursor ? 0 : 1,
      });
      await this.deps.queue.send(messages);
      result.users += page.userIds.length;
      result.messages += messages.length;
      cursor = page.nextCursor;
      if (cursor && deadline !== undefined && this.now() >= deadline) {
        const checkpoint: ScanSegmentMessage = {
          kind: 'scan',
          cycle,
          segment: position.segment,
          totalSegments: position.totalSegments,
          startKey: cursor,
        };
        await this.deps.queue.send([checkpoint]);
        logger.info('dispatch segment checkpointed', { cycle, segment: position.segment, users: result.users });
        return { ...result, checkpointed: 1 };
      }
    } while (cursor);
    return result;
  }

  private refreshMessages(cycle: string, userIds: string[]): RefreshUsersMessage[] {
    const size = this.deps.config.usersPerMessage;
    const messages: RefreshUsersMessage[] = [];
    for (let start = 0; start < userIds.length; start += size) {
      const users = userIds.slice(start, start + size);
      messages.push({ kind: 'refresh', cycle, users, batch: batchId(users) });
    }
    return messages;
  }
}

/** A cycle that has not finished after this long counts as abandoned (default 23 hours). */
export const DEFAULT_CYCLE_TIMEOUT_MS = 23 * 3_600_000;

/** A message's id within its cycle: its users, hashed (a scan returns each user once per cycle). */
export function batchId(users: readonly string[]): string {
  return createHash('sha256').update(users.join('\n')).digest('base64url').slice(0, 22);
}

function addResults(a: DispatchResult, b: DispatchResult): DispatchResult {
  return {
    users: a.users + b.users,
    messages: a.messages + b.messages,
    segments: a.segments + b.segments,
    checkpointed: a.checkpointed + b.checkpointed,
  };
}
