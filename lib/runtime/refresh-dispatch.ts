/**
 * Wiring of the refresh dispatcher. It needs only the table and the queue: no KMS, no
 * Google, and so none of their code in its bundle or cold start. The worker continues
 * checkpointed segments with the same dispatcher.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { sqsClient } from '../aws/clients/sqs';
import { SqsRefreshQueue } from '../aws/sqs-queues';
import { once } from '../memo';
import { DEFAULT_METRICS_NAMESPACE, dispatchConfig } from '../refresh/config';
import { RefreshDispatcher } from '../refresh/dispatch';
import { composition } from './composition';
import { refreshLedger, userStore } from './aws';

export const refreshDispatcher = once(() => {
  const config = dispatchConfig();
  return new RefreshDispatcher({
    store: userStore(),
    queue: new SqsRefreshQueue(sqsClient(), config.queueUrl),
    config,
    ledger: refreshLedger(),
    metrics: new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'google-offline-access',
    }),
  });
});

export const refreshDispatchFunction = composition({
  prepare: refreshDispatcher,
  build: () => Promise.resolve(refreshDispatcher()),
});
