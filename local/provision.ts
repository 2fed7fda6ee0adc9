/**
 * `npm run provision:local`: creates, idempotently, what the product needs on whatever
 * `AWS_ENDPOINT_URL_*` point at (dynalite + the KMS emulator, or moto): the table named by
 * `TABLE_NAME`, from the same definition the CDK stack uses, with TTL where the backend has it,
 * and the KMS key when `KMS_KEY_ID` is an alias that does not exist yet.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { optionalEnv, requireEnv } from '../lib/config';
import { TOKEN_TABLE } from '../lib/store/table-definition';
import { ensureKmsKey } from './aws/kms-key';
import { type Env, localClientConfig } from './aws/local-env';
import { ensureTable, ensureTimeToLive } from './aws/table';

export interface ProvisionResult {
  tableCreated: boolean;
  /** 'unsupported' on dynalite, which has no UpdateTimeToLive. */
  timeToLive: 'enabled' | 'unsupported';
  /** The id of the key `KMS_KEY_ID` names; absent when `KMS_KEY_ID` is not set. */
  kmsKeyId?: string;
  keyCreated: boolean;
}

export interface ProvisionOptions {
  /** Where the one-line notes go (default console.log). */
  log?: (line: string) => void;
}

export async function provisionLocal(env: Env = process.env, options: ProvisionOptions = {}): Promise<ProvisionResult> {
  const log = options.log ?? console.log;
  const tableName = requireEnv('TABLE_NAME', env);
  const keyId = optionalEnv('KMS_KEY_ID', env);

  const dynamo = new DynamoDBClient(localClientConfig(env, 'DYNAMODB'));
  const kms = keyId === undefined ? undefined : new KMSClient(localClientConfig(env, 'KMS'));
  try {
    const tableCreated = await ensureTable(dynamo, tableName);
    const timeToLive = await ensureTimeToLive(dynamo, tableName);
    if (timeToLive === 'unsupported') {
      log(
        `TTL: this DynamoDB backend has no UpdateTimeToLive (dynalite); ${TOKEN_TABLE.timeToLiveAttribute} items never expire here`,
      );
    }
    const key = kms && keyId ? await ensureKmsKey(kms, keyId) : undefined;
    return { tableCreated, timeToLive, keyCreated: key?.created ?? false, ...(key ? { kmsKeyId: key.keyId } : {}) };
  } finally {
    dynamo.destroy();
    kms?.destroy();
  }
}

function summary(env: Env, result: ProvisionResult): string {
  const lines = [
    `table ${env.TABLE_NAME}: ${result.tableCreated ? 'created' : 'already existed'} (TTL ${result.timeToLive})`,
    result.kmsKeyId
      ? `KMS key ${env.KMS_KEY_ID}: ${result.keyCreated ? 'created' : 'already existed'} (${result.kmsKeyId})`
      : 'KMS key: KMS_KEY_ID not set, skipped',
  ];
  return lines.join('\n');
}

if (require.main === module) {
  provisionLocal().then(
    (result) => console.log(summary(process.env, result)),
    (error: unknown) => {
      console.error(`provision:local failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
