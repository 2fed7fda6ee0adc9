/**
 * The AWS side of an integration test: DynamoDB and KMS endpoints, a fresh table and key.
 *
 * Endpoints already in the environment win (the whole suite under moto sets
 * `AWS_ENDPOINT_URL_DYNAMODB` / `_KMS` / `_SQS`); otherwise dynalite and the KMS emulator start
 * in-process (so a stack started while another is open shares the first one's servers).
 * Every call gets its own `TABLE_NAME` and `KMS_KEY_ID=alias/<unique>`, so test files never
 * share state even on one moto. The variables it sets in `process.env` are restored by
 * close(); close stacks in reverse order. Start one stack per test file (beforeAll):
 * `lib/aws/clients` caches its clients, and the endpoints they read, per module registry.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteAliasCommand, KMSClient } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { startDynamoDb } from '../../local/aws/dynamodb';
import { localAwsDefaults, localClientConfig } from '../../local/aws/local-env';
import type { LocalService } from '../../local/aws/local-service';
import { type KmsEmulator, startKmsEmulator } from '../../local/kms-emulator';
import { provisionLocal } from '../../local/provision';

export interface AwsStack {
  tableName: string;
  /** `alias/<unique>`, also in `process.env.KMS_KEY_ID`. */
  kmsKeyId: string;
  dynamoUrl: string;
  kmsUrl: string;
  /** Only when the environment provides it (moto); the in-process stack has no SQS. */
  sqsUrl?: string;
  /** The emulator, when it runs in this process. */
  kms?: KmsEmulator;
  /**
   * KMS requests by operation: from the in-process emulator, or from an out-of-process one
   * via `GET /emulator/counts`. moto keeps no such counts: `{}` there, so assert counts only
   * when `kms` is set or the result is non-empty.
   */
  kmsRequestCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startAwsStack(): Promise<AwsStack> {
  const external = { dynamo: process.env.AWS_ENDPOINT_URL_DYNAMODB, kms: process.env.AWS_ENDPOINT_URL_KMS };
  const [dynamo, kms] = await Promise.all([
    external.dynamo === undefined ? startDynamoDb() : undefined,
    external.kms === undefined ? startKmsEmulator() : undefined,
  ]);
  const owned = [dynamo, kms].filter((service): service is LocalService => service !== undefined);
  const dynamoUrl = external.dynamo ?? dynamo!.url;
  const kmsUrl = external.kms ?? kms!.url;

  const suffix = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const tableName = `test-${suffix}`;
  const kmsKeyId = `alias/test-${suffix}`;
  const restoreEnv = setEnv({
    ...localAwsDefaults(process.env),
    AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
    AWS_ENDPOINT_URL_KMS: kmsUrl,
    TABLE_NAME: tableName,
    KMS_KEY_ID: kmsKeyId,
  });

  const stop = async (): Promise<void> => {
    await Promise.all(owned.map((service) => service.close()));
    restoreEnv();
  };
  try {
    await provisionLocal(process.env, { log: () => undefined });
  } catch (error) {
    await stop();
    throw error;
  }
  const close = async (): Promise<void> => {
    try {
      // Owned stand-ins vanish with their data; on a shared backend, remove what this stack made.
      await removeResources(external, tableName, kmsKeyId);
    } finally {
      await stop();
    }
  };

  const sqsUrl = process.env.AWS_ENDPOINT_URL_SQS;
  return {
    tableName,
    kmsKeyId,
    dynamoUrl,
    kmsUrl,
    ...(sqsUrl ? { sqsUrl } : {}),
    ...(kms ? { kms } : {}),
    kmsRequestCounts: async () => kms?.requestCounts() ?? (await remoteKmsCounts(kmsUrl)),
    close,
  };
}

/** Sets variables in process.env; the returned function puts the previous values back. */
function setEnv(values: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Counts from a KMS emulator in another process; `{}` from anything else (moto answers 404). */
async function remoteKmsCounts(kmsUrl: string): Promise<Record<string, number>> {
  const response = await fetch(`${kmsUrl}/emulator/counts`);
  if (!response.ok || !response.headers.get('content-type')?.startsWith('application/json')) return {};
  return (await response.json()) as Record<string, number>;
}

/** On external backends, the table and alias (a KMS key cannot be deleted at once; moto's die with moto). */
async function removeResources(
  external: { dynamo?: string; kms?: string },
  tableName: string,
  alias: string,
): Promise<void> {
  if (external.dynamo !== undefined) {
    const dynamo = new DynamoDBClient(localClientConfig(process.env, 'DYNAMODB'));
    await dynamo.send(new DeleteTableCommand({ TableName: tableName })).finally(() => dynamo.destroy());
  }
  if (external.kms !== undefined) {
    const kms = new KMSClient(localClientConfig(process.env, 'KMS'));
    await kms.send(new DeleteAliasCommand({ AliasName: alias })).finally(() => kms.destroy());
  }
}
