/** The exchange ledger on DynamoDB: `AUTHCODE#<sha256(code)>` items that expire through the table's TTL. */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ExchangeClaim, ExchangeLedger, ExchangeRecord } from '../exchange-ledger';
import { ITEM_KINDS, TOKEN_TABLE } from '../table-definition';
import { Expression, isConditionFailure } from './expression';

const PK = TOKEN_TABLE.partitionKey;
const EXPIRES = TOKEN_TABLE.timeToLiveAttribute;
const exchangeKey = (codeHash: string) => ({ [PK]: { S: `${ITEM_KINDS.exchange}${codeHash}` } });
const epochSeconds = (ms: number) => Math.floor(ms / 1000);

export class DynamoExchangeLedger implements ExchangeLedger {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async begin(codeHash: string, nowMs: number, ttlMs: number): Promise<ExchangeClaim> {
    const condition = new Expression();
    // An entry past its expiry may still be there (TTL deletes lazily): it counts as gone.
    condition.where(
      `attribute_not_exists(${condition.name(PK)}) OR ${condition.name(EXPIRES)} < ${condition.value(epochSeconds(nowMs))}`,
    );
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...exchangeKey(codeHash),
            ...marshall({ status: 'pending', [EXPIRES]: epochSeconds(nowMs + ttlMs) }),
          },
          ...condition.build(),
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { claimed: false, existing: await this.get(codeHash) };
    }
  }

  async get(codeHash: string): Promise<ExchangeRecord | undefined> {
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: exchangeKey(codeHash), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const item = unmarshall(out.Item);
    return {
      status: item.status === 'done' ? 'done' : 'pending',
      expiresAt: Number(item[EXPIRES]),
      ...(typeof item.response === 'string' ? { response: JSON.parse(item.response) as Record<string, unknown> } : {}),
    };
  }

  async complete(codeHash: string, response: Record<string, unknown>, expiresAtMs: number): Promise<void> {
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...exchangeKey(codeHash),
          ...marshall({ status: 'done', response: JSON.stringify(response), [EXPIRES]: epochSeconds(expiresAtMs) }),
        },
      }),
    );
  }

  async abandon(codeHash: string): Promise<void> {
    try {
      await this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: exchangeKey(codeHash),
          ...new Expression().whereEquals('status', 'pending').build(),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
