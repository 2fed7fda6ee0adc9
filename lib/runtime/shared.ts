/**
 * The adapters and Google services that several functions share, each built once per
 * execution environment from the environment (tests build the same objects against the
 * emulators by setting the environment first). Every function's own wiring is in the
 * module beside this one that carries its name.
 */
import { dynamoClient, kmsClient, secretsClient, sqsClient } from '../aws/clients';
import { kmsCipher } from '../aws/kms-data-keys';
import { SqsRevocationQueue } from '../aws/sqs-queues';
import { googleConfig, requireEnv, type GoogleConfig } from '../config';
import { loadClientCredentials, type OAuthClientCredentials } from '../google/client-secret';
import { googleEndpoints, type GoogleEndpoints } from '../google/endpoints';
import { IdTokenVerifier } from '../google/id-token';
import { RemoteKeySet } from '../google/jwt';
import { GoogleOAuth } from '../google/oauth';
import { once, onceAsync } from '../memo';
import { DynamoExchangeLedger } from '../store/dynamodb/exchange-ledger';
import { DynamoRefreshLedger } from '../store/dynamodb/refresh-ledger';
import { DynamoSecurityEventLedger } from '../store/dynamodb/security-event-ledger';
import { DynamoUserStore } from '../store/dynamodb/user-store';

const tableName = once(() => requireEnv('TABLE_NAME'));

export const userStore = once(() => new DynamoUserStore(dynamoClient(), tableName()));
export const refreshLedger = once(() => new DynamoRefreshLedger(dynamoClient(), tableName()));
export const exchangeLedger = once(() => new DynamoExchangeLedger(dynamoClient(), tableName()));
export const securityEventLedger = once(() => new DynamoSecurityEventLedger(dynamoClient(), tableName()));
/** Only functions that decrypt are handed a KMS key (risc and the dispatcher are not). */
export const tokenCipher = once(() => kmsCipher(kmsClient(), requireEnv('KMS_KEY_ID')));
export const revocationQueue = once(() => new SqsRevocationQueue(sqsClient(), requireEnv('REFRESH_QUEUE_URL')));

export interface GoogleServices {
  config: GoogleConfig;
  endpoints: GoogleEndpoints;
  credentials: OAuthClientCredentials;
  oauth: GoogleOAuth;
  idTokens: IdTokenVerifier;
  /** Every client ID an ID token or security event may be addressed to: the server's and the apps'. */
  trustedClientIds: string[];
}

const googleSetup = once(() => {
  const config = googleConfig();
  const endpoints = googleEndpoints(config.emulatorHost);
  const certs = new RemoteKeySet(endpoints.pemCertsUrl, 'pem-certificates');
  return { config, endpoints, certs };
});

export const googleServices = onceAsync(async (): Promise<GoogleServices> => {
  const { config, endpoints, certs } = googleSetup();
  const creds = await loadClientCredentials(config.clientSecret, secretsClient);
  return {
    config,
    endpoints,
    credentials: creds,
    oauth: new GoogleOAuth(creds, endpoints),
    idTokens: new IdTokenVerifier(certs, { audience: creds.clientId, allowedAzp: config.allowedAzp }),
    trustedClientIds: [creds.clientId, ...config.allowedAzp],
  };
});

/**
 * Validates the Google configuration synchronously (a bad variable fails the cold start by
 * name) and starts loading the client secret during init, so the first request need not wait.
 * A failed load is not kept: the first request tries again and reports the error.
 */
export function prepareGoogleServices(): void {
  googleSetup();
  googleServices().catch(() => undefined);
}
