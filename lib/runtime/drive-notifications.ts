/** Wiring of `POST /drive/notifications`: job state to check channels, the refresh queue for early runs. No KMS, no Google. */
import { sqsClient } from '../aws/clients/sqs';
import { SqsUserRunQueue } from '../aws/sqs-queues';
import { requireEnv } from '../config';
import { drivePushCoalesceSeconds } from '../jobs/config';
import { DriveNotificationReceiver } from '../jobs/drive-notifications';
import { once } from '../memo';
import { composition } from './composition';
import { jobStateStore } from './aws';

const settings = once(() => ({
  queueUrl: requireEnv('REFRESH_QUEUE_URL'),
  coalesceSeconds: drivePushCoalesceSeconds(),
}));

export const driveNotificationsFunction = composition({
  prepare() {
    settings();
    jobStateStore();
  },
  build() {
    const { queueUrl, coalesceSeconds } = settings();
    return Promise.resolve(
      new DriveNotificationReceiver({
        states: jobStateStore(),
        runs: new SqsUserRunQueue(sqsClient(), queueUrl),
        coalesceSeconds,
      }),
    );
  },
});
