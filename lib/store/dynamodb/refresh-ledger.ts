/**
 * The refresh ledger on DynamoDB, in the token table: one `REFRESHCYCLE#current` item and one
 * small `REFRESHBATCH#<cycle>#<batch>` item per `refresh` message (expiring through the
 * table's TTL). Every write is a single conditional UpdateItem of an item far below 1 KB, so
 * each costs one write request unit.
 */
import { GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { BatchClaim, CycleStart, CycleState, RefreshLedger } from '../refresh-ledger';
import { ITEM_KINDS, TOKEN_TABLE } from '../table-definition';
import { Expression, isConditionFailure } from './expression';

const PK = TOKEN_TABLE.partitionKey;
const TTL = TOKEN_TABLE.timeToLiveAttribute;
const CYCLE_KEY = { [PK]: { S: `${ITEM_KINDS.refreshCycle}current` } };
const batchKey = (cycle: string, batch: string) => ({ [PK]: { S: `${ITEM_KINDS.refreshBatch}${cycle}#${batch}` } });
/** Batch claims are kept a week: long enough for any redelivery, short enough to cost nothing. */
const BATCH_RETENTION_S = 7 * 86_400;

export class DynamoRefreshLedger implements RefreshLedger {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async startCycle(input: {
    cycle: string;
    nowMs: number;
    timeoutMs: number;
    totalSegments: number;
  }): Promise<CycleStart> {
    const update = new Expression()
      .set('cycle', input.cycle)
      .set('startedAtMs', input.nowMs)
      .set('expiresAtMs', input.nowMs + input.timeoutMs)
      .set('totalSegments', input.totalSegments)
      .set('segmentsDone', 0)
      .set('messages', 0)
      .set('messagesDone', 0);
    const n = (attribute: string) => update.name(attribute);
    update.where(
      `attribute_not_exists(${n(PK)}) OR ${n('expiresAtMs')} < ${update.value(input.nowMs)} OR ` +
        `(${n('segmentsDone')} >= ${n('totalSegments')} AND ${n('messagesDone')} >= ${n('messages')})`,
    );
    const started = await this.update(CYCLE_KEY, update);
    if (started) return { started: true, state: toCycleState(started) };
    const running = await this.currentCycle();
    // Gone between the failed write and the read: only a hand-deleted item does that.
    if (!running) return this.startCycle(input);
    return { started: false, running };
  }

  async currentCycle(): Promise<CycleState | undefined> {
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: CYCLE_KEY, ConsistentRead: true }),
    );
    return out.Item ? toCycleState(unmarshall(out.Item)) : undefined;
  }

  async recordDispatch(cycle: string, counts: { messages: number; segmentsDone: number }): Promise<void> {
    const update = new Expression()
      .increment('messages', counts.messages)
      .increment('segmentsDone', counts.segmentsDone)
      .whereEquals('cycle', cycle);
    await this.update(CYCLE_KEY, update);
  }

  async recordMessagesDone(cycle: string, messages: number): Promise<void> {
    await this.update(CYCLE_KEY, new Expression().increment('messagesDone', messages).whereEquals('cycle', cycle));
  }

  async claimBatch(input: {
    cycle: string;
    batch: string;
    owner: string;
    leaseMs: number;
    nowMs: number;
  }): Promise<BatchClaim> {
    const update = new Expression()
      .set('owner', input.owner)
      .set('leaseExpiresAtMs', input.nowMs + input.leaseMs)
      .set(TTL, Math.floor(input.nowMs / 1000) + BATCH_RETENTION_S);
    const lease = update.name('leaseExpiresAtMs');
    update.where(`attribute_not_exists(${lease}) OR ${lease} < ${update.value(input.nowMs)}`).whereMissing('done');
    const key = batchKey(input.cycle, input.batch);
    const claimed = await this.update(key, update);
    if (claimed) {
      const pending = claimed.pending;
      return Array.isArray(pending) ? { status: 'claimed', pending: pending as string[] } : { status: 'claimed' };
    }
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    const item = out.Item ? unmarshall(out.Item) : {};
    if (item.done === true) return { status: 'done' };
    return { status: 'held', leaseExpiresAtMs: Number(item.leaseExpiresAtMs ?? input.nowMs) };
  }

  async finishBatch(input: {
    cycle: string;
    batch: string;
    owner: string;
    pending: string[];
    nowMs: number;
  }): Promise<boolean> {
    const update = new Expression().remove('owner', 'leaseExpiresAtMs').whereEquals('owner', input.owner);
    if (input.pending.length) update.set('pending', input.pending);
    else update.set('done', true).remove('pending');
    return (await this.update(batchKey(input.cycle, input.batch), update)) !== undefined;
  }

  /** An UpdateItem; the new item, or `undefined` when its condition failed. */
  private async update(
    key: Record<string, AttributeValue>,
    expression: Expression,
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({ TableName: this.tableName, Key: key, ...expression.build(), ReturnValues: 'ALL_NEW' }),
      );
      return unmarshall(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}

function toCycleState(raw: Record<string, unknown>): CycleState {
  return {
    cycle: String(raw.cycle),
    startedAtMs: Number(raw.startedAtMs ?? 0),
    expiresAtMs: Number(raw.expiresAtMs ?? 0),
    totalSegments: Number(raw.totalSegments ?? 0),
    segmentsDone: Number(raw.segmentsDone ?? 0),
    messages: Number(raw.messages ?? 0),
    messagesDone: Number(raw.messagesDone ?? 0),
  };
}
