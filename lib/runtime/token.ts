/**
 * Wiring of the token function (access tokens for the company's own jobs). Its refresh path
 * is the worker's `GrantRefresher`, built over the same store, cipher and Google client.
 */
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { GrantRefresher } from '../access-tokens';
import { dynamoClient } from '../aws/clients/dynamodb';
import { kmsClient } from '../aws/clients/kms';
import { kmsCipher } from '../aws/kms-data-keys';
import { requireEnv } from '../config';
import { ACCESS_TOKEN_PURPOSE } from '../crypto/envelope';
import { once } from '../memo';
import { DEFAULT_METRICS_NAMESPACE } from '../refresh/config';
import { DynamoAccessTokenCache } from '../store/dynamodb/access-token-cache';
import { TokenVault, type TokenVaultDependencies } from '../token-vault';
import { composition } from './composition';
import { userStore } from './aws';
import { tokenCipher } from './cipher';
import { googleServices, prepareGoogleServices } from './google';

const accessTokenCache = once(() => new DynamoAccessTokenCache(dynamoClient(), requireEnv('TABLE_NAME')));
/** Same KMS key as the refresh tokens, its own encryption context (the key policy admits it for this function only). */
const accessTokenCipher = once(() => kmsCipher(kmsClient(), requireEnv('KMS_KEY_ID'), {}, ACCESS_TOKEN_PURPOSE));

const metrics = once(
  () =>
    new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'google-offline-access',
    }),
);

/** `TokenVends` by `outcome` (cached, refreshed, not_connected, ...), published at once. */
function countVend(outcome: string): void {
  const single = metrics().singleMetric();
  single.addDimension('outcome', outcome);
  single.addMetric('TokenVends', MetricUnit.Count, 1);
}

/**
 * A vault over the environment's configuration. Each call builds a separate one (its own
 * caches and in-process state), which is what an execution environment is: tests build
 * several to play concurrent environments.
 */
export async function buildTokenVault(overrides: Partial<TokenVaultDependencies> = {}): Promise<TokenVault> {
  const google = await googleServices();
  const store = userStore();
  return new TokenVault({
    users: store,
    cache: accessTokenCache(),
    accessTokens: accessTokenCipher(),
    grants: new GrantRefresher({ store, cipher: tokenCipher(), oauth: google.oauth }),
    countVend,
    ...overrides,
  });
}

export const tokenFunction = composition({
  prepare() {
    userStore();
    tokenCipher();
    accessTokenCache();
    accessTokenCipher();
    prepareGoogleServices();
  },
  build: () => buildTokenVault(),
});
