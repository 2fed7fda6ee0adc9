/**
 * `POST /drive/notifications`: Google's push notifications for the users' watch channels.
 * A notification carries no data, only "something changed" for a channel; a valid one asks
 * for an early run of that user's jobs on the refresh queue.
 *
 * - Checked before anything is written: the channel token routes to a user whose job state
 *   holds this very channel id and resource id, and whose stored hash matches the token.
 *   Anything else (forged, stale, stopped channels) is acknowledged and ignored — Google
 *   would only resend a non-2xx — never enqueued. A request without the headers is a 400.
 * - `sync` (sent when a channel opens, often before we stored it) is acknowledged only.
 * - Bursts collapse: the first `change` of a window opens it (one conditional write) and
 *   enqueues one run delayed by the window, so that run starts after every change of the
 *   burst and sees them all; the rest of the window is acknowledged only.
 */
import { InvalidRequestError } from '../errors';
import { logger } from '../log';
import { rememberSecret } from '../redact';
import type { JobStateStore } from '../store/job-state';
import { channelOfState, DRIVE_CHANGES_JOB } from './drive-changes';
import { channelTokenMatches, userIdOfChannelToken } from './drive-push';

/** Where a user's early run goes (the refresh queue). */
export interface UserRunQueue {
  /** @throws UpstreamUnavailableError when the queue does not take it. */
  enqueueUserRun(userId: string, cycle: string, delaySeconds: number): Promise<void>;
}

export interface DriveNotification {
  channelId?: string;
  token?: string;
  resourceId?: string;
  resourceState?: string;
  messageNumber?: string;
}

export type NotificationOutcome =
  | { status: 'queued'; userId: string }
  | { status: 'collapsed'; userId: string }
  | { status: 'sync' }
  | { status: 'ignored'; reason: 'unknown_channel' | 'wrong_token' | 'not_a_change' };

export interface DriveNotificationDependencies {
  states: Pick<JobStateStore, 'load' | 'openWindow' | 'closeWindow'>;
  runs: UserRunQueue;
  /** Notifications for one user within this many seconds make one run (also that run's delay). */
  coalesceSeconds: number;
  now?: () => number;
}

const PUSH_WINDOW = 'drive-push';
/** Google's resource states that mean the watched changes moved (`change`; older APIs say `update`). */
const CHANGE_STATES = new Set(['change', 'update', 'add', 'remove', 'trash', 'untrash']);

export class DriveNotificationReceiver {
  private readonly now: () => number;

  constructor(private readonly deps: DriveNotificationDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** @throws InvalidRequestError (400) without the channel headers; UpstreamUnavailableError (503) when DynamoDB or SQS fail on a valid one. */
  async receive(notification: DriveNotification): Promise<NotificationOutcome> {
    const { channelId, token, resourceId, resourceState } = notification;
    if (!channelId || !resourceState) {
      throw new InvalidRequestError(
        'Not a Drive push notification: X-Goog-Channel-ID and X-Goog-Resource-State are required',
      );
    }
    // A channel's first message only confirms it opened (it may even beat our record of it).
    if (resourceState === 'sync') return { status: 'sync' };
    if (token) rememberSecret(token);
    const userId = token ? userIdOfChannelToken(token) : undefined;
    if (!token || !userId) return this.ignored('wrong_token', channelId);
    const channel = channelOfState(await this.deps.states.load(userId, DRIVE_CHANGES_JOB));
    if (!channel || channel.id !== channelId || channel.resourceId !== resourceId) {
      return this.ignored('unknown_channel', channelId);
    }
    if (!channelTokenMatches(channel, token)) return this.ignored('wrong_token', channelId);
    if (!CHANGE_STATES.has(resourceState)) return this.ignored('not_a_change', channelId);

    const nowMs = this.now();
    const windowMs = this.deps.coalesceSeconds * 1000;
    if (!(await this.deps.states.openWindow(userId, PUSH_WINDOW, nowMs, windowMs))) {
      return { status: 'collapsed', userId };
    }
    try {
      await this.deps.runs.enqueueUserRun(userId, new Date(nowMs).toISOString(), this.deps.coalesceSeconds);
    } catch (error) {
      // Let Google's redelivery of this notification open the window again.
      await this.deps.states.closeWindow(userId, PUSH_WINDOW, nowMs).catch(() => undefined);
      throw error;
    }
    logger.info('drive push: early run queued', { userId, channelId, messageNumber: notification.messageNumber });
    return { status: 'queued', userId };
  }

  private ignored(reason: 'unknown_channel' | 'wrong_token' | 'not_a_change', channelId: string): NotificationOutcome {
    logger.warn('drive push: notification ignored', { reason, channelId: channelId.slice(0, 64) });
    return { status: 'ignored', reason };
  }
}

/** The notification in Google's headers (lower-cased names, as HTTP API hands them over). */
export function notificationFromHeaders(headers: Record<string, string>): DriveNotification {
  const pick = (name: string) => headers[name]?.trim() || undefined;
  const fields = {
    channelId: pick('x-goog-channel-id'),
    token: pick('x-goog-channel-token'),
    resourceId: pick('x-goog-resource-id'),
    resourceState: pick('x-goog-resource-state'),
    messageNumber: pick('x-goog-message-number'),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
