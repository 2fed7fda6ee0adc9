/**
 * Wiring of the connection-events publisher: the table's change stream in, EventBridge out.
 * It reads no secret and holds no key: only GOOGLE_REQUIRED_SCOPES (to tell `missing_scopes`
 * apart) and the optional EVENT_BUS_NAME.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { eventBridgeClient } from '../aws/clients/eventbridge';
import { EventBridgeConnectionEvents } from '../aws/eventbridge-events';
import { eventBusNameEnv, optionalEnv, requiredScopesEnv } from '../config';
import { ConnectionEventPublisher, type ChangesOutcome } from '../connection-events';
import { once } from '../memo';
import { DEFAULT_METRICS_NAMESPACE } from '../refresh/config';
import { userChangesOf } from '../store/dynamodb/user-changes';
import { composition } from './composition';

const setup = once(() => ({
  requiredScopes: requiredScopesEnv(),
  busName: eventBusNameEnv(),
  metrics: new Metrics({
    namespace: optionalEnv('POWERTOOLS_METRICS_NAMESPACE') ?? DEFAULT_METRICS_NAMESPACE,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'google-offline-access',
  }),
}));

export interface StreamBatchProcessor {
  /** One stream batch: the first change not published is reported, so the stream retries from it. */
  processRecords(records: readonly DynamoDBRecord[]): Promise<DynamoDBBatchResponse & { outcome: ChangesOutcome }>;
}

export const connectionEventsFunction = composition<StreamBatchProcessor>({
  prepare() {
    setup();
  },
  build() {
    const { requiredScopes, busName, metrics } = setup();
    const publisher = new ConnectionEventPublisher({
      sink: new EventBridgeConnectionEvents(eventBridgeClient(), busName),
      requiredScopes,
      metrics,
    });
    return Promise.resolve({
      async processRecords(records) {
        const outcome = await publisher.publishChanges(userChangesOf(records));
        return {
          batchItemFailures: outcome.failedPosition ? [{ itemIdentifier: outcome.failedPosition }] : [],
          outcome,
        };
      },
    });
  },
});
