/** The security-event ledger on DynamoDB: `RISC#<jti>` items that expire through the table's TTL. */
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { SecurityEventLedger } from '../security-event-ledger';
import { ITEM_KINDS, TOKEN_TABLE } from '../table-definition';
import { Expression, isConditionFailure } from './expression';

const PK = TOKEN_TABLE.partitionKey;
const eventKey = (jti: string) => ({ [PK]: { S: `${ITEM_KINDS.securityEvent}${jti}` } });
const epochSeconds = (ms: number) => Math.floor(ms / 1000);

export class DynamoSecurityEventLedger implements SecurityEventLedger {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async record(jti: string, nowMs: number, ttlMs: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...eventKey(jti),
            ...marshall({
              receivedAt: new Date(nowMs).toISOString(),
              [TOKEN_TABLE.timeToLiveAttribute]: epochSeconds(nowMs + ttlMs),
            }),
          },
          ...new Expression().whereMissing(PK).build(),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async forget(jti: string): Promise<void> {
    await this.dynamo.send(new DeleteItemCommand({ TableName: this.tableName, Key: eventKey(jti) }));
  }
}
