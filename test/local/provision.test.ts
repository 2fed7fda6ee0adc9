/**
 * `provisionLocal` builds the table from the one table definition, creates the key alias once
 * and changes nothing when run again, on dynalite + the KMS emulator and on moto. Also
 * `startAwsStack`, which integration tests use to get a provisioned backend.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeKeyCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { startDynamoDb } from '../../local/aws/dynamodb';
import { startMoto } from '../../local/aws/moto';
import { backendsOfThisTier } from '../support/backends';
import { startKmsEmulator } from '../../local/kms-emulator';
import { provisionLocal } from '../../local/provision';
import { createTableInput } from '../../lib/store/table-definition';
import { startAwsStack } from '../support/aws-stack';

interface Backend {
  dynamoUrl: string;
  kmsUrl: string;
  close(): Promise<void>;
}

const backends: { name: string; moto?: boolean; start: () => Promise<Backend>; timeToLive: string }[] = [
  {
    name: 'dynalite + KMS emulator',
    timeToLive: 'unsupported',
    start: async () => {
      const [dynamo, kms] = await Promise.all([startDynamoDb(), startKmsEmulator()]);
      return {
        dynamoUrl: dynamo.url,
        kmsUrl: kms.url,
        close: () => Promise.all([dynamo.close(), kms.close()]).then(() => undefined),
      };
    },
  },
  {
    name: 'moto_server',
    moto: true,
    timeToLive: 'enabled',
    start: async () => {
      const moto = await startMoto();
      return { dynamoUrl: moto.url, kmsUrl: moto.url, close: () => moto.close() };
    },
  },
];

const clientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const quiet = { log: (): void => undefined };
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

describe.each(backendsOfThisTier(backends))('provisionLocal on $name', ({ start, timeToLive }) => {
  let backend: Backend;
  let dynamo: DynamoDBClient;
  let kms: KMSClient;
  const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: backend.dynamoUrl,
    AWS_ENDPOINT_URL_KMS: backend.kmsUrl,
    TABLE_NAME: unique('tokens'),
    KMS_KEY_ID: `alias/${unique('google-tokens')}`,
    ...overrides,
  });

  beforeAll(async () => {
    backend = await start();
    dynamo = new DynamoDBClient(clientConfig(backend.dynamoUrl));
    kms = new KMSClient(clientConfig(backend.kmsUrl));
  }, 30_000);

  afterAll(async () => {
    dynamo?.destroy();
    kms?.destroy();
    await backend?.close();
  });

  it('is idempotent: table and key alias are created once', async () => {
    const vars = env();
    const log = jest.fn();
    const first = await provisionLocal(vars, { log });
    expect(first).toEqual({ tableCreated: true, timeToLive, kmsKeyId: expect.any(String), keyCreated: true });
    // Only a backend without TTL (dynalite) gets its one line.
    expect(log).toHaveBeenCalledTimes(timeToLive === 'unsupported' ? 1 : 0);

    const second = await provisionLocal(vars, quiet);
    expect(second).toEqual({ ...first, tableCreated: false, keyCreated: false });

    const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId: first.kmsKeyId }));
    expect(Aliases?.map((alias) => alias.AliasName)).toEqual([vars.KMS_KEY_ID]);
  });

  it('builds the table with exactly the keys and indexes of createTableInput', async () => {
    const vars = env();
    await provisionLocal(vars, quiet);
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: vars.TABLE_NAME }));

    const expected = createTableInput(vars.TABLE_NAME!);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual(expected.KeySchema);
    const indexes = (Table?.GlobalSecondaryIndexes ?? []).map(({ IndexName, KeySchema, Projection }) => ({
      IndexName,
      KeySchema,
      Projection,
    }));
    expect(sortByName(indexes)).toEqual(sortByName(expected.GlobalSecondaryIndexes!));
  });

  it('leaves KMS alone without KMS_KEY_ID, and accepts an existing key ARN', async () => {
    const withoutKey = env();
    delete withoutKey.KMS_KEY_ID;
    expect(await provisionLocal(withoutKey, quiet)).toEqual({ tableCreated: true, timeToLive, keyCreated: false });

    const vars = env();
    const { kmsKeyId } = await provisionLocal(vars, quiet);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: kmsKeyId }));
    const byArn = await provisionLocal({ ...vars, KMS_KEY_ID: KeyMetadata!.Arn! }, quiet);
    expect(byArn).toMatchObject({ tableCreated: false, kmsKeyId, keyCreated: false });
  });

  it('refuses a same-named table built from another definition', async () => {
    const vars = env();
    await dynamo.send(
      new CreateTableCommand({
        TableName: vars.TABLE_NAME,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      }),
    );
    await expect(provisionLocal(vars, quiet)).rejects.toThrow(/exists with keys \[table\(pk\)\], expected/);
  });

  it('fails clearly on a key id that does not exist', async () => {
    await expect(provisionLocal(env({ KMS_KEY_ID: '00000000-0000-4000-8000-000000000000' }), quiet)).rejects.toThrow(
      /does not exist; set KMS_KEY_ID to alias/,
    );
  });
});

describe('provisionLocal without endpoints', () => {
  it('refuses to touch real AWS', async () => {
    await expect(provisionLocal({ TABLE_NAME: 'tokens' }, quiet)).rejects.toThrow(
      /AWS_ENDPOINT_URL_DYNAMODB is not set/,
    );
  });
});

describe('startAwsStack', () => {
  it('provisions a fresh table and key per call, sets the environment, and restores it on close', async () => {
    const before = { ...process.env };
    const one = await startAwsStack();
    // Started while `one` is open, `two` finds its endpoints in the environment and shares them.
    const two = await startAwsStack();
    try {
      expect(process.env).toMatchObject({ TABLE_NAME: two.tableName, KMS_KEY_ID: two.kmsKeyId });
      expect([two.dynamoUrl, two.kmsUrl]).toEqual([one.dynamoUrl, one.kmsUrl]);
      expect(two.tableName).not.toBe(one.tableName);
      expect(two.kmsKeyId).not.toBe(one.kmsKeyId);

      const kms = new KMSClient(clientConfig(two.kmsUrl));
      await kms.send(new DescribeKeyCommand({ KeyId: two.kmsKeyId })).finally(() => kms.destroy());
      const dynamo = new DynamoDBClient(clientConfig(two.dynamoUrl));
      await dynamo.send(new DescribeTableCommand({ TableName: two.tableName })).finally(() => dynamo.destroy());

      // In process from `one`'s emulator, over HTTP for `two`; moto keeps no counts.
      const counts = await two.kmsRequestCounts();
      expect(counts).toEqual(one.kms ? one.kms.requestCounts() : {});
      if (one.kms) expect(counts).toMatchObject({ CreateKey: 2, CreateAlias: 2 });
    } finally {
      try {
        await two.close();
      } finally {
        await one.close();
      }
    }
    expect(process.env).toEqual(before);
  });
});

function sortByName<T extends { IndexName?: string }>(indexes: T[]): T[] {
  return [...indexes].sort((a, b) => (a.IndexName ?? '').localeCompare(b.IndexName ?? ''));
}
