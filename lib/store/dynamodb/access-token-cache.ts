/** The access-token cache on DynamoDB: `ACCESS#<sub>` items of the token table. */
import { GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AccessTokenCache, AccessTokenCacheEntry, CachedAccessToken } from '../access-token-cache';
import { ITEM_KINDS, TOKEN_TABLE } from '../table-definition';
import { Expression, isConditionFailure } from './expression';

const PK = TOKEN_TABLE.partitionKey;
const TTL = TOKEN_TABLE.timeToLiveAttribute;
const accessKey = (userId: string) => ({ [PK]: { S: `${ITEM_KINDS.accessToken}${userId}` } });
/** DynamoDB's TTL deletes the item a while after the token or lock it holds is useless. */
const TTL_MARGIN_S = 300;

export class DynamoAccessTokenCache implements AccessTokenCache {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(userId: string): Promise<AccessTokenCacheEntry | undefined> {
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: accessKey(userId), ConsistentRead: true }),
    );
    return out.Item ? toEntry(out.Item) : undefined;
  }

  async acquireRefreshLock(
    userId: string,
    owner: string,
    lockMs: number,
    nowMs: number,
  ): Promise<AccessTokenCacheEntry | undefined> {
    const update = new Expression()
      .set('lockOwner', owner)
      .set('lockExpiresAt', nowMs + lockMs)
      // Never shortens the life of a token the item still holds.
      .set(TTL, Math.ceil((nowMs + lockMs) / 1000) + 3600 + TTL_MARGIN_S);
    const expires = update.name('lockExpiresAt');
    update.where(`attribute_not_exists(${expires}) OR ${expires} < ${update.value(nowMs)}`);
    return this.update(userId, update);
  }

  async storeAndRelease(userId: string, owner: string, token: CachedAccessToken): Promise<boolean> {
    const update = new Expression()
      .set('accessToken', token.ciphertext)
      .set('tokenExpiresAt', token.expiresAtMs)
      .set('scopes', token.scopes)
      .set('tokenVersion', token.tokenVersion)
      .set(TTL, Math.ceil(token.expiresAtMs / 1000) + TTL_MARGIN_S)
      .remove('lockOwner', 'lockExpiresAt')
      .whereEquals('lockOwner', owner);
    return (await this.update(userId, update)) !== undefined;
  }

  async releaseLock(userId: string, owner: string): Promise<void> {
    await this.update(userId, new Expression().remove('lockOwner', 'lockExpiresAt').whereEquals('lockOwner', owner));
  }

  private async update(userId: string, expression: Expression): Promise<AccessTokenCacheEntry | undefined> {
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: accessKey(userId),
          ...expression.build(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toEntry(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}

function toEntry(item: Record<string, AttributeValue>): AccessTokenCacheEntry {
  const raw = unmarshall(item) as Record<string, unknown>;
  const entry: AccessTokenCacheEntry = {};
  if (raw.accessToken instanceof Uint8Array && typeof raw.tokenExpiresAt === 'number') {
    entry.token = {
      ciphertext: raw.accessToken,
      expiresAtMs: raw.tokenExpiresAt,
      scopes: Array.isArray(raw.scopes) ? (raw.scopes as string[]) : [],
      tokenVersion: Number(raw.tokenVersion ?? -1),
    };
  }
  if (typeof raw.lockOwner === 'string') entry.lockOwner = raw.lockOwner;
  if (typeof raw.lockExpiresAt === 'number') entry.lockExpiresAtMs = raw.lockExpiresAt;
  return entry;
}
