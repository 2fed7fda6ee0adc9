/**
 * The security-event ledger on DynamoDB: `RISC#<jti>` items that expire through the table's
 * TTL. `status` is `in_progress` (with `leaseExpiresAt`, epoch ms) until the receiver has
 * acted, then `done`; an item without `status` (written before claims existed) counts as done.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SecurityEventClaim, SecurityEventLedger } from '../security-event-ledger';
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

  async begin(jti: string, nowMs: number, leaseMs: number, ttlMs: number): Promise<SecurityEventClaim> {
    const claim = new Expression();
    const status = claim.name('status');
    const lease = claim.name('leaseExpiresAt');
    claim.where(
      `attribute_not_exists(${claim.name(PK)}) OR (${status} = ${claim.value('in_progress')} AND ${lease} < ${claim.value(nowMs)})`,
    );
    try {
      await this.put(
        jti,
        { status: 'in_progress', receivedAt: new Date(nowMs).toISOString(), leaseExpiresAt: nowMs + leaseMs },
        nowMs + ttlMs,
        claim,
      );
      return 'claimed';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // dynalite ignores ReturnValuesOnConditionCheckFailure: read what stopped us.
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: eventKey(jti), ConsistentRead: true }),
    );
    const existing = out.Item ? (unmarshall(out.Item) as { status?: unknown }) : undefined;
    // Gone meanwhile (a failed delivery forgot it): the next delivery claims it.
    if (!existing) return 'in_progress';
    return existing.status === 'in_progress' ? 'in_progress' : 'done';
  }

  async complete(jti: string, nowMs: number, ttlMs: number): Promise<void> {
    await this.put(jti, { status: 'done', doneAt: new Date(nowMs).toISOString() }, nowMs + ttlMs);
  }

  async forget(jti: string): Promise<void> {
    await this.dynamo.send(new DeleteItemCommand({ TableName: this.tableName, Key: eventKey(jti) }));
  }

  /** Writes the event's whole item, expiring at `expiresAtMs` (the table's TTL), under `condition` when given. */
  private async put(
    jti: string,
    attributes: Record<string, unknown>,
    expiresAtMs: number,
    condition?: Expression,
  ): Promise<void> {
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...eventKey(jti),
          ...marshall({ ...attributes, [TOKEN_TABLE.timeToLiveAttribute]: epochSeconds(expiresAtMs) }),
        },
        ...condition?.build(),
      }),
    );
  }
}
