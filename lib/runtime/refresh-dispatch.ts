/**
 * Wiring of the refresh dispatcher. It needs only the table and the queue: no KMS, no
 * Google, and so none of their code in its bundle or cold start. The worker continues
 * checkpointed segments with the same dispatcher.
 */
import { sqsClient } from '../aws/clients/sqs';
import { SqsRefreshQueue } from '../aws/sqs-queues';
import { once } from '../memo';
import { dispatchConfig } from '../refresh/config';
import { RefreshDispatcher } from '../refresh/dispatch';
import { composition } from './composition';
import { userStore } from './aws';

export const refreshDispatcher = once(() => {
  const config = dispatchConfig();
  return new RefreshDispatcher({
    store: userStore(),
    queue: new SqsRefreshQueue(sqsClient(), config.queueUrl),
    config,
  });
});

export const refreshDispatchFunction = composition({
  prepare: refreshDispatcher,
  build: () => Promise.resolve(refreshDispatcher()),
});
