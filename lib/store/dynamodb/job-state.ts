/**
 * Job state on DynamoDB: one `JOBSTATE#<sub>` item per user beside the `USER#<sub>` record,
 * one attribute per job (`state:<job>`) and per window (`window:<key>`). One item per user
 * keeps disconnect and revocation to a single DeleteItem whatever jobs ran.
 */
import { DeleteItemCommand, GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { JobState, JobStateStore } from '../job-state';
import { ITEM_KINDS, TOKEN_TABLE } from '../table-definition';
import { Expression, isConditionFailure } from './expression';

export const JOB_STATE_PREFIX = ITEM_KINDS.jobState;
const PK = TOKEN_TABLE.partitionKey;
const STATE = 'state:';
const WINDOW = 'window:';
const stateKey = (userId: string) => ({ [PK]: { S: `${JOB_STATE_PREFIX}${userId}` } });

export class DynamoJobStateStore implements JobStateStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async load(userId: string, job: string): Promise<JobState | undefined> {
    const projection = new Expression();
    const out = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: stateKey(userId),
        ProjectionExpression: projection.name(`${STATE}${job}`),
        ExpressionAttributeNames: projection.build().ExpressionAttributeNames,
        ConsistentRead: true,
      }),
    );
    const value = out.Item ? (unmarshall(out.Item) as Record<string, unknown>)[`${STATE}${job}`] : undefined;
    return isState(value) ? value : undefined;
  }

  async save(userId: string, job: string, state: JobState): Promise<void> {
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: stateKey(userId),
        ...new Expression().set(`${STATE}${job}`, state).build(),
      }),
    );
  }

  async forget(userId: string): Promise<Record<string, JobState>> {
    const out = await this.dynamo.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: stateKey(userId), ReturnValues: 'ALL_OLD' }),
    );
    const states: Record<string, JobState> = {};
    for (const [attribute, value] of Object.entries(out.Attributes ? unmarshall(out.Attributes) : {})) {
      if (attribute.startsWith(STATE) && isState(value)) states[attribute.slice(STATE.length)] = value;
    }
    return states;
  }

  async openWindow(userId: string, key: string, nowMs: number, windowMs: number): Promise<boolean> {
    const update = new Expression().set(`${WINDOW}${key}`, nowMs).whereExists(PK);
    const window = update.name(`${WINDOW}${key}`);
    update.where(`attribute_not_exists(${window}) OR ${window} <= ${update.value(nowMs - windowMs)}`);
    return this.conditionally(userId, update);
  }

  async closeWindow(userId: string, key: string, openedAtMs: number): Promise<void> {
    await this.conditionally(
      userId,
      new Expression().remove(`${WINDOW}${key}`).whereEquals(`${WINDOW}${key}`, openedAtMs),
    );
  }

  /** An UpdateItem of the user's item; false when its condition failed. */
  private async conditionally(userId: string, expression: Expression): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({ TableName: this.tableName, Key: stateKey(userId), ...expression.build() }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function isState(value: unknown): value is JobState {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
