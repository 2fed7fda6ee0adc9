/**
 * `drive-changes`: incremental sync of the user's Drive app data space. The first run
 * remembers where the change log stands (`changes.getStartPageToken`); every later run reads
 * only what changed since (`changes.list`, paged, to `newStartPageToken`) and hands the
 * batch to the company's code — the in-process handlers compiled into
 * `drive-changes-handlers.ts`, then one `Drive Changes` EventBridge event — before it moves
 * the stored token on (so a failed hand-over is retried with the same changes: at least once).
 *
 * Costs: an idle user is one Drive request and no DynamoDB write (the token only moves when
 * the change log did). A page token Google rejects (a 4xx: expired after long disuse)
 * restarts from a fresh start token, logged and in the job result: the changes in between
 * are not reported. With push settings, the job also keeps the user's watch channel alive.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { drive_v3 } from '@googleapis/drive';
import type { EventPublisher } from '../events/publisher';
import type { JobState, JobStateStore } from '../store/job-state';
import { DRIVE_APPDATA_SCOPE } from './appdata-summary';
import { isPushChannel, openChannel, stopChannel, type PushChannel, type PushSettings } from './drive-push';
import type { OfflineJob } from './types';

export const DRIVE_CHANGES_JOB = 'drive-changes';
export const DRIVE_CHANGES_EVENT = 'Drive Changes';
/** Changes per event: keeps an entry well under EventBridge's 256 KB (one event unless a run sees more). */
export const MAX_CHANGES_PER_EVENT = 500;

/** One change as the company's code sees it: ids and kinds, never file contents. */
export interface DriveChange {
  fileId: string;
  /** `file` (or `drive` for shared drives, which the app data space never has). */
  changeType: string;
  removed: boolean;
  /** RFC 3339. */
  time: string;
}

/** The `Drive Changes` event detail and what in-process handlers receive. */
export interface DriveChangesBatch extends Record<string, unknown> {
  userId: string;
  changes: DriveChange[];
  /** RFC 3339: when this run handed the batch over. */
  at: string;
}

/**
 * An in-process consumer of a user's changes (compiled in, see `drive-changes-handlers.ts`).
 * It gets the user's Drive client to read what changed. Throwing fails the run: the same
 * changes come again on the retry or the next cycle.
 */
export type DriveChangesHandler = (
  batch: DriveChangesBatch,
  context: { drive: drive_v3.Drive; logger: Logger },
) => Promise<void>;

export interface DriveChangesDependencies {
  states: JobStateStore;
  events: EventPublisher;
  handlers: readonly DriveChangesHandler[];
  /** Set (`DRIVE_PUSH_ADDRESS`): each user keeps a watch channel; unset: channels are closed. */
  push?: PushSettings;
  now?: () => number;
}

/** What the job keeps per user. */
export interface DriveChangesState {
  pageToken: string;
  channel?: PushChannel;
}

/** The job result stored in the user record (small). */
export interface DriveChangesResult extends Record<string, unknown> {
  changes: number;
  /** Set on a run that started over: `first_run` or `page_token_rejected`. */
  started?: 'first_run' | 'page_token_rejected';
  channel?: 'opened' | 'renewed' | 'closed';
}

/** @param wiring resolved on the first run, so selecting the job by name needs no AWS client. */
export function driveChangesJob(wiring: () => DriveChangesDependencies): OfflineJob {
  return {
    name: DRIVE_CHANGES_JOB,
    requiredScopes: [DRIVE_APPDATA_SCOPE],
    async run({ drive, userId, logger }) {
      return syncChanges(wiring(), drive, userId, logger);
    },
  };
}

async function syncChanges(
  deps: DriveChangesDependencies,
  drive: drive_v3.Drive,
  userId: string,
  logger: Logger,
): Promise<DriveChangesResult> {
  const now = deps.now ?? Date.now;
  const saved = parseState(await deps.states.load(userId, DRIVE_CHANGES_JOB));
  const result: DriveChangesResult = { changes: 0 };
  let next: DriveChangesState;
  if (!saved) {
    next = { pageToken: await startPageToken(drive) };
    result.started = 'first_run';
  } else {
    const listed = await listChangesSince(drive, saved.pageToken);
    if (listed === 'rejected') {
      logger.warn('Drive rejected the stored page token; starting over from a fresh start token', {
        restarted: true,
      });
      next = { ...saved, pageToken: await startPageToken(drive) };
      result.started = 'page_token_rejected';
    } else {
      if (listed.changes.length) await handOver(deps, drive, logger, userId, listed.changes, now);
      next = { ...saved, pageToken: listed.newStartPageToken };
      result.changes = listed.changes.length;
    }
  }
  next = await keepChannel(deps, drive, logger, userId, next, result, now());
  if (!sameState(saved, next)) await deps.states.save(userId, DRIVE_CHANGES_JOB, next as unknown as JobState);
  logger.debug('drive changes synced', { ...result });
  return result;
}

async function startPageToken(drive: drive_v3.Drive): Promise<string> {
  const { data } = await drive.changes.getStartPageToken({});
  if (!data.startPageToken) throw new Error('Drive answered no start page token');
  return data.startPageToken;
}

/** Every change since `pageToken`, all pages; `rejected` when Google refuses the stored token. */
async function listChangesSince(
  drive: drive_v3.Drive,
  pageToken: string,
): Promise<{ changes: DriveChange[]; newStartPageToken: string } | 'rejected'> {
  const changes: DriveChange[] = [];
  let token = pageToken;
  for (;;) {
    let data: drive_v3.Schema$ChangeList;
    try {
      ({ data } = await drive.changes.list({
        pageToken: token,
        spaces: 'appDataFolder',
        pageSize: 1000,
        includeRemoved: true,
        fields: 'nextPageToken,newStartPageToken,changes(fileId,changeType,removed,time)',
      }));
    } catch (error) {
      if (isPageTokenRejection(error)) return 'rejected';
      throw error;
    }
    for (const change of data.changes ?? []) {
      if (!change.fileId) continue;
      changes.push({
        fileId: change.fileId,
        changeType: change.changeType ?? 'file',
        removed: change.removed === true,
        time: change.time ?? '',
      });
    }
    if (data.newStartPageToken) return { changes, newStartPageToken: data.newStartPageToken };
    if (!data.nextPageToken) throw new Error('Drive answered a change page without a next or new start token');
    token = data.nextPageToken;
  }
}

/**
 * Google's answer to a page token it no longer honours: a 4xx other than the ones that
 * mean something else (401 credentials, 403 permissions or rate limits, 429 rate limits).
 */
function isPageTokenRejection(error: unknown): boolean {
  if (!(error instanceof Error) || !('config' in error)) return false;
  const status = (error as { response?: { status?: unknown } }).response?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status);
}

async function handOver(
  deps: DriveChangesDependencies,
  drive: drive_v3.Drive,
  logger: Logger,
  userId: string,
  changes: DriveChange[],
  now: () => number,
): Promise<void> {
  const at = new Date(now()).toISOString();
  for (let start = 0; start < changes.length; start += MAX_CHANGES_PER_EVENT) {
    const batch: DriveChangesBatch = { userId, changes: changes.slice(start, start + MAX_CHANGES_PER_EVENT), at };
    for (const handler of deps.handlers) await handler(batch, { drive, logger });
    await deps.events.publish(DRIVE_CHANGES_EVENT, batch);
  }
  logger.info('drive changes handed over', { changes: changes.length });
}

/** Opens, renews or closes the user's watch channel as the push settings ask. */
async function keepChannel(
  deps: DriveChangesDependencies,
  drive: drive_v3.Drive,
  logger: Logger,
  userId: string,
  state: DriveChangesState,
  result: DriveChangesResult,
  nowMs: number,
): Promise<DriveChangesState> {
  const { channel, ...rest } = state;
  if (!deps.push) {
    if (!channel) return state;
    await stopChannel(drive, channel, logger);
    result.channel = 'closed';
    return rest;
  }
  if (channel && channel.expiresAt - nowMs > deps.push.renewBeforeMs) return state;
  const opened = await openChannel(drive, { userId, pageToken: state.pageToken, settings: deps.push, nowMs });
  // The new channel is live before the old one goes, so no notification falls between them.
  if (channel) await stopChannel(drive, channel, logger);
  result.channel = channel ? 'renewed' : 'opened';
  logger.info(`drive push channel ${result.channel}`, { channelId: opened.id, expiresAt: opened.expiresAt });
  return { ...rest, channel: opened };
}

function parseState(value: JobState | undefined): DriveChangesState | undefined {
  if (!value || typeof value.pageToken !== 'string' || !value.pageToken) return undefined;
  return {
    pageToken: value.pageToken,
    ...(isPushChannel(value.channel) ? { channel: value.channel } : {}),
  };
}

function sameState(a: DriveChangesState | undefined, b: DriveChangesState): boolean {
  return (
    a !== undefined &&
    a.pageToken === b.pageToken &&
    a.channel?.id === b.channel?.id &&
    a.channel?.expiresAt === b.channel?.expiresAt
  );
}

/** The state's push channel, if it holds one (disconnect and revocation close it). */
export function channelOfState(state: JobState | undefined): PushChannel | undefined {
  return isPushChannel(state?.channel) ? state.channel : undefined;
}
