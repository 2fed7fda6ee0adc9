/**
 * Connection events: every change of a user's connection status or reason becomes one
 * `Connection Status Changed` event on EventBridge, at least once, never lost.
 *
 * The changes come from the table's change stream (DynamoDB Streams in AWS, the local change
 * feed in `npm start` and the tests), never from the functions that write: a function that
 * crashes right after its write has already handed the change to the stream, and the stream
 * keeps it until this publisher reports it done. Each event's `eventId` is derived from the
 * change itself, so a redelivered change publishes the same `eventId` and consumers dedupe.
 *
 * Order: changes are published in stream order and the first one that fails stops the
 * batch; everything from it on is delivered again, so one user's events never overtake
 * each other (a redelivery may repeat events already published, with their same ids).
 */
import { createHash } from 'node:crypto';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { connectionStatus, statusChanged, type ConnectionReason, type ConnectionStatus } from './connection-status';
import { describeError, logger } from './log';
import type { UserRecord } from './store/users';

export const CONNECTION_EVENT_SOURCE = 'google-offline-access';
export const CONNECTION_EVENT_DETAIL_TYPE = 'Connection Status Changed';
/** Metric counted once per user who lost the connection, with a `reason` dimension. */
export const CONNECTIONS_LOST_METRIC = 'ConnectionsLost';

/** The `Detail` of a `Connection Status Changed` event (DESIGN.md). */
export interface ConnectionStatusChanged {
  eventId: string;
  userId: string;
  status: ConnectionStatus;
  previousStatus: ConnectionStatus;
  reason?: ConnectionReason;
  /** ISO-8601: when the change was written. */
  at: string;
}

/** One write to a user's record, as the change stream reports it. */
export interface UserChange {
  /** The change's position in the stream (DynamoDB's `SequenceNumber`): what is reported back on failure. */
  position: string;
  userId: string;
  /** The record before the write; absent when the write created it. */
  before?: UserRecord;
  /** The record after the write; absent when the write deleted it. */
  after?: UserRecord;
  /** ISO-8601 time the stream saw the change: `at` when the record carries none. */
  approximateAt: string;
}

/** The EventBridge port. */
export interface ConnectionEventSink {
  /**
   * Publishes events in order. Resolves with the ids EventBridge did not accept (an empty
   * list when all were); rejects when the call itself failed (nothing known to be published).
   */
  publish(events: readonly ConnectionStatusChanged[]): Promise<{ failedEventIds: string[] }>;
}

export interface ConnectionEventsDependencies {
  sink: ConnectionEventSink;
  requiredScopes: readonly string[];
  metrics?: Pick<Metrics, 'singleMetric'>;
  /** Events per publish call (EventBridge takes up to 10 entries per PutEvents). */
  batchSize?: number;
}

export interface ChangesOutcome {
  /** Events accepted by EventBridge. */
  published: number;
  /** Changes that did not change what the apps see (a refresh outcome, a lease). */
  unchanged: number;
  /** The position of the first change not published: it and everything after it come again. */
  failedPosition?: string;
}

/**
 * The event a change raises, or `undefined` when status and reason stay the same. Pure.
 * The `eventId` is a UUID-shaped hash of the user, the written record's version stamp and
 * the transition: the same on every redelivery of this change, different for any other.
 */
export function connectionEventOf(
  change: UserChange,
  requiredScopes: readonly string[],
): ConnectionStatusChanged | undefined {
  const before = connectionStatus(change.before, requiredScopes);
  const after = connectionStatus(change.after, requiredScopes);
  if (!statusChanged(before, after)) return undefined;
  const at = change.after?.updatedAt ?? change.approximateAt;
  const stamp = change.after ? `${change.after.updatedAt}|${change.after.tokenVersion}` : `removed|${change.position}`;
  const transition = `${before.status}/${before.reason ?? ''}>${after.status}/${after.reason ?? ''}`;
  return {
    eventId: uuidFromHash(`${change.userId}|${stamp}|${transition}`),
    userId: change.userId,
    status: after.status,
    previousStatus: before.status,
    ...(after.reason ? { reason: after.reason } : {}),
    at,
  };
}

export class ConnectionEventPublisher {
  private readonly batchSize: number;

  constructor(private readonly deps: ConnectionEventsDependencies) {
    this.batchSize = Math.min(Math.max(deps.batchSize ?? 10, 1), 10);
  }

  /** Publishes the events of `changes` (in stream order); never throws. */
  async publishChanges(changes: readonly UserChange[]): Promise<ChangesOutcome> {
    const pending: { change: UserChange; event: ConnectionStatusChanged }[] = [];
    let unchanged = 0;
    for (const change of changes) {
      const event = connectionEventOf(change, this.deps.requiredScopes);
      if (event) pending.push({ change, event });
      else unchanged += 1;
    }
    let published = 0;
    for (let start = 0; start < pending.length; start += this.batchSize) {
      const chunk = pending.slice(start, start + this.batchSize);
      let failed: Set<string>;
      try {
        failed = new Set((await this.deps.sink.publish(chunk.map((p) => p.event))).failedEventIds);
      } catch (error) {
        logger.warn('connection events: publishing failed; the stream delivers them again', {
          events: chunk.length,
          error: describeError(error),
        });
        failed = new Set(chunk.map((p) => p.event.eventId));
      }
      for (const { change, event } of chunk) {
        if (failed.has(event.eventId)) {
          logger.warn('connection events: EventBridge did not accept an event; the stream delivers it again', {
            userId: event.userId,
            eventId: event.eventId,
          });
          return { published, unchanged, failedPosition: change.position };
        }
        published += 1;
        this.count(event);
        logger.info('connection status changed', { ...event });
      }
    }
    return { published, unchanged };
  }

  /** One data point per user who lost the connection, by reason (the Testing-mode alarm reads it). */
  private count(event: ConnectionStatusChanged): void {
    if (!this.deps.metrics || event.status === 'active' || !event.reason) return;
    const metric = this.deps.metrics.singleMetric();
    metric.addDimension('reason', event.reason);
    metric.addMetric(CONNECTIONS_LOST_METRIC, MetricUnit.Count, 1);
  }
}

function uuidFromHash(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  // Shaped as a version-5-style UUID (name-based), so consumers can store it in a UUID column.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
