/**
 * Drive push for the `drive-changes` job: one `changes.watch` channel per user, whose
 * notifications (`POST /drive/notifications`) ask for an early run of that user's jobs.
 *
 * The channel token Google echoes in `X-Goog-Channel-Token` is `<base64url(userId)>.<secret>`:
 * the user part routes the notification to the user's job state (Google suggests the token
 * for routing), the secret proves it came from the channel we opened. Only its SHA-256 is
 * stored, beside the channel id and resource id, in the job's state.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { drive_v3 } from '@googleapis/drive';
import type { Logger } from '@aws-lambda-powertools/logger';
import { describeError } from '../log';
import { rememberSecret } from '../redact';

/** What the job state keeps of a live channel (no secret: its hash). */
export interface PushChannel {
  id: string;
  resourceId: string;
  tokenHash: string;
  /** Epoch ms Google stops sending on it. */
  expiresAt: number;
}

export interface PushSettings {
  /** The public URL of `POST /drive/notifications` (`DRIVE_PUSH_ADDRESS`). */
  address: string;
  /** Lifetime asked for a new channel; Google caps changes channels at one week. */
  channelLifetimeMs: number;
  /** A channel with less than this left is replaced by the next run (so it never lapses). */
  renewBeforeMs: number;
}

export const DEFAULT_PUSH_TIMING = {
  channelLifetimeMs: 7 * 24 * 3600 * 1000,
  // Several scheduled runs fall inside a day, so a renewal that fails once is retried in time.
  renewBeforeMs: 24 * 3600 * 1000,
} as const;

export const hashChannelToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** A fresh channel token for the user, and the hash we keep of it. */
export function newChannelToken(userId: string): { token: string; tokenHash: string } {
  const token = `${Buffer.from(userId, 'utf8').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  return { token, tokenHash: hashChannelToken(token) };
}

/** The user a channel token routes to; `undefined` when it is not one of ours. */
export function userIdOfChannelToken(token: string): string | undefined {
  const match = /^([A-Za-z0-9_-]{1,400})\.[A-Za-z0-9_-]{43}$/.exec(token);
  if (!match?.[1]) return undefined;
  const userId = Buffer.from(match[1], 'base64url').toString('utf8');
  return userId.length > 0 && Buffer.from(userId, 'utf8').toString('base64url') === match[1] ? userId : undefined;
}

/** Whether `token` is the one whose hash the channel keeps (constant time). */
export function channelTokenMatches(channel: PushChannel, token: string): boolean {
  const expected = Buffer.from(channel.tokenHash, 'utf8');
  const actual = Buffer.from(hashChannelToken(token), 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Opens a channel on the user's app data changes from `pageToken` on. */
export async function openChannel(
  drive: drive_v3.Drive,
  input: { userId: string; pageToken: string; settings: PushSettings; nowMs: number },
): Promise<PushChannel> {
  const { token, tokenHash } = newChannelToken(input.userId);
  rememberSecret(token);
  const id = randomBytes(16).toString('hex');
  const { data } = await drive.changes.watch({
    pageToken: input.pageToken,
    spaces: 'appDataFolder',
    requestBody: {
      id,
      type: 'web_hook',
      address: input.settings.address,
      token,
      expiration: String(input.nowMs + input.settings.channelLifetimeMs),
    },
  });
  if (!data.resourceId) throw new Error('Drive opened a watch channel without a resource id');
  // Google answers with the expiration it granted (it may cut the one asked for).
  const expiresAt = Number(data.expiration) || input.nowMs + input.settings.channelLifetimeMs;
  return { id, resourceId: data.resourceId, tokenHash, expiresAt };
}

/**
 * Stops a channel at Google. Best effort: a channel Google no longer knows (expired,
 * stopped) or a refusal is logged, never thrown — a forgotten channel only sends
 * notifications we ignore until it expires.
 */
export async function stopChannel(drive: drive_v3.Drive, channel: PushChannel, logger: Logger): Promise<boolean> {
  try {
    await drive.channels.stop({ requestBody: { id: channel.id, resourceId: channel.resourceId } });
    return true;
  } catch (error) {
    logger.warn('could not stop a Drive push channel; it lapses by itself', {
      channelId: channel.id,
      error: describeError(error),
    });
    return false;
  }
}

export function isPushChannel(value: unknown): value is PushChannel {
  const channel = value as Partial<PushChannel> | null;
  return (
    typeof channel === 'object' &&
    channel !== null &&
    typeof channel.id === 'string' &&
    typeof channel.resourceId === 'string' &&
    typeof channel.tokenHash === 'string' &&
    typeof channel.expiresAt === 'number'
  );
}
