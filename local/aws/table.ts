/** Creates the token table from its one definition, idempotently, and turns on its TTL. */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, TOKEN_TABLE } from '../../lib/store/table-definition';

const TABLE_WAIT = { maxWaitTime: 60, minDelay: 1, maxDelay: 2 };

/** Creates the table unless it exists; waits until ACTIVE. True when this call created it. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  let created = true;
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
    created = false;
  }
  await waitUntilTableExists({ client, ...TABLE_WAIT }, { TableName: tableName });
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  assertSameKeys(tableName, Table);
  return created;
}

/**
 * Enables TTL on the table's expiry attribute. 'unsupported' when the backend has no
 * UpdateTimeToLive (dynalite answers UnknownOperationException); items then never expire.
 */
export async function ensureTimeToLive(client: DynamoDBClient, tableName: string): Promise<'enabled' | 'unsupported'> {
  const attribute = TOKEN_TABLE.timeToLiveAttribute;
  const { TimeToLiveDescription: current } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  // DynamoDB rejects enabling TTL twice, so look first.
  const status = current?.TimeToLiveStatus;
  if ((status === 'ENABLED' || status === 'ENABLING') && current?.AttributeName === attribute) return 'enabled';
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: attribute },
      }),
    );
    return 'enabled';
  } catch (error) {
    if ((error as Error).name === 'UnknownOperationException') return 'unsupported';
    throw error;
  }
}

/** An existing table built from an older definition would fail in confusing ways later: say so now. */
function assertSameKeys(tableName: string, table: TableDescription | undefined): void {
  const expected = keySignatures(createTableInput(tableName));
  const actual = keySignatures(table ?? {});
  if (expected.join() !== actual.join()) {
    throw new Error(
      `Table ${tableName} exists with keys [${actual.join(', ')}], expected [${expected.join(', ')}]: ` +
        'delete it or choose another TABLE_NAME',
    );
  }
}

type KeySchema = ReadonlyArray<{ AttributeName?: string }>;

/** `table(pk)`, `ActiveUsers(activeUserId)`, …: the table's key and each index's, comparable as strings. */
function keySignatures(table: {
  KeySchema?: KeySchema;
  GlobalSecondaryIndexes?: ReadonlyArray<{ IndexName?: string; KeySchema?: KeySchema }>;
}): string[] {
  const signature = (name: string | undefined, keys: KeySchema = []): string =>
    `${name}(${keys.map((key) => key.AttributeName).join(',')})`;
  const indexes = (table.GlobalSecondaryIndexes ?? []).map((index) => signature(index.IndexName, index.KeySchema));
  return [signature('table', table.KeySchema), ...indexes.sort()];
}
