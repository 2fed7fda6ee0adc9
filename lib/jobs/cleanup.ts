/**
 * What the offline jobs leave behind for a user, removed when the grant ends: their state
 * (one item) and, with push on, the user's Drive watch channel. On disconnect the grant is
 * still alive until we revoke it, so the channel is stopped at Google first; after a
 * revocation (`invalid_grant`, RISC) nothing can authorize `channels.stop` any more, so
 * the channel is only forgotten — its notifications then match no state and are ignored
 * until it lapses (at most a week).
 */
import type { GoogleGateway } from '../google/gateway';
import { describeError, logger } from '../log';
import type { JobStateStore } from '../store/job-state';
import { channelOfState, DRIVE_CHANGES_JOB } from './drive-changes';
import { stopChannel } from './drive-push';
import type { DriveClientFactory } from './drive';

/** The port disconnect and revocation call. */
export interface UserJobsCleanup {
  /**
   * Forgets the user's job state; with a still-valid `refreshToken`, also stops the push
   * channel at Google. Never throws: the grant is ending either way (failures are logged).
   */
  forgetUser(userId: string, refreshToken?: string): Promise<void>;
}

export interface JobCleanupDependencies {
  states: Pick<JobStateStore, 'forget'>;
  /** Both needed to stop channels; without them channels are only forgotten. */
  oauth?: Pick<GoogleGateway, 'refreshAccessToken'>;
  driveFor?: DriveClientFactory;
}

export class OfflineJobCleanup implements UserJobsCleanup {
  constructor(private readonly deps: JobCleanupDependencies) {}

  async forgetUser(userId: string, refreshToken?: string): Promise<void> {
    let channel;
    try {
      channel = channelOfState((await this.deps.states.forget(userId))[DRIVE_CHANGES_JOB]);
    } catch (error) {
      logger.warn('could not delete the offline jobs state', { userId, error: describeError(error) });
      return;
    }
    if (!channel) return;
    const { oauth, driveFor } = this.deps;
    if (!refreshToken || !oauth || !driveFor) {
      logger.info('drive push channel forgotten without stopping it (no live grant); it lapses by itself', {
        userId,
        channelId: channel.id,
      });
      return;
    }
    try {
      const { accessToken } = await oauth.refreshAccessToken(refreshToken);
      const stopped = await stopChannel(
        await driveFor(accessToken),
        channel,
        logger.createChild({ persistentKeys: { userId } }),
      );
      if (stopped) logger.info('drive push channel stopped', { userId, channelId: channel.id });
    } catch (error) {
      logger.warn('could not stop the drive push channel; it lapses by itself', {
        userId,
        error: describeError(error),
      });
    }
  }
}
