/**
 * Composition of the dispatcher, built once per execution environment. Kept apart from the
 * worker's (`runtime.ts`) because the dispatcher needs only the table and the queue: no KMS,
 * no Google, and so none of their code in its bundle or cold start.
 */
import { dynamoClient, sqsClient } from '../aws/clients';
import { requireEnv } from '../config';
import { once } from '../memo';
import { TokenStore } from '../store/token-store';
import { dispatchConfig } from './config';
import { RefreshDispatcher } from './dispatch';
import { SqsRefreshQueue } from './queue';

export const refreshDispatcher = once(() => {
  const config = dispatchConfig();
  const store = new TokenStore(dynamoClient(), requireEnv('TABLE_NAME'));
  return new RefreshDispatcher({ store, queue: new SqsRefreshQueue(sqsClient(), config.queueUrl), config });
});
