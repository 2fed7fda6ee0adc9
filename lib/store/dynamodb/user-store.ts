/** The user store on DynamoDB: `USER#<sub>` items of the token table. */
import {
  BatchGetItemCommand,
  GetItemCommand,
  type BatchGetItemCommandOutput,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ITEM_KINDS, TOKEN_TABLE, type IndexDefinition } from '../table-definition';
import type {
  ActiveUsersPage,
  GrantStatus,
  RefreshOutcome,
  Revocation,
  ScanCursor,
  StoredRefreshToken,
  UserProfile,
  UserRecord,
  UserStore,
} from '../users';
import { Expression, isConditionFailure } from './expression';

export const USER_PREFIX = ITEM_KINDS.user;
const PK = TOKEN_TABLE.partitionKey;
const userKey = (userId: string) => ({ [PK]: { S: `${USER_PREFIX}${userId}` } });

/** What is destroyed when a grant ends; `activeUserId` drops the user from the dispatcher's index. */
const TOKEN_ATTRIBUTES = ['refreshToken', 'tokenHash', 'tokenPrefixHash', 'activeUserId'];
const MAX_BATCH_GET_KEYS = 100;
const MAX_BATCH_GET_ROUNDS = 8;
const PROFILE_OPTIONAL = ['email', 'name', 'givenName', 'familyName', 'picture', 'locale'] as const;
/**
 * What a disconnect erases besides the token: the profile, the scopes of the grant that is
 * gone and what the jobs found. Left: the user ID, status and times that status reporting needs.
 */
const DISCONNECT_ERASES = [...PROFILE_OPTIONAL, 'emailVerified', 'jobs', 'lastRefreshError'];

export class DynamoUserStore implements UserStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getUser(userId: string, consistent = true): Promise<UserRecord | undefined> {
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: userKey(userId), ConsistentRead: consistent }),
    );
    return out.Item ? toUserRecord(out.Item) : undefined;
  }

  async getUsers(userIds: readonly string[]): Promise<UserRecord[]> {
    const records: UserRecord[] = [];
    const unique = [...new Set(userIds)];
    for (let start = 0; start < unique.length; start += MAX_BATCH_GET_KEYS) {
      let keys: Record<string, AttributeValue>[] | undefined = unique
        .slice(start, start + MAX_BATCH_GET_KEYS)
        .map((userId) => userKey(userId));
      // BatchGetItem may answer part of the request: ask again for the rest (the SDK already backed off).
      for (let attempt = 1; keys?.length; attempt++) {
        const out: BatchGetItemCommandOutput = await this.dynamo.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: false } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) records.push(toUserRecord(item));
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
        if (keys?.length && attempt >= MAX_BATCH_GET_ROUNDS)
          throw new Error('DynamoDB left keys unprocessed too often');
      }
    }
    return records;
  }

  async saveSignIn(input: {
    profile: UserProfile;
    grantedScopes: string[];
    refreshToken?: StoredRefreshToken;
    now: Date;
  }): Promise<UserRecord> {
    const at = input.now.toISOString();
    const { userId, ...profile } = input.profile;
    const update = new Expression()
      .set('userId', userId)
      .setIfMissing('createdAt', at)
      .set('updatedAt', at)
      .set('lastSignInAt', at)
      .set('grantedScopes', input.grantedScopes);
    for (const [attribute, value] of Object.entries(profile)) update.set(attribute, value);
    for (const attribute of PROFILE_OPTIONAL) if (profile[attribute] === undefined) update.remove(attribute);
    if (input.refreshToken) {
      update
        .set('refreshToken', input.refreshToken.ciphertext)
        .set('tokenHash', input.refreshToken.tokenHash)
        .set('tokenPrefixHash', input.refreshToken.tokenPrefixHash)
        .set('tokenStoredAt', at)
        .set('status', 'active')
        .set('activeUserId', userId)
        .increment('tokenVersion')
        .set('refreshFailures', 0)
        .remove('reason', 'revokedAt', 'revokedReason', 'disconnectedAt', 'lastRefreshError');
    } else {
      // Not beside the token branch's `refreshFailures = 0`: DynamoDB rejects overlapping paths.
      update
        .setIfMissing('status', 'no_refresh_token')
        .setIfMissing('tokenVersion', 0)
        .setIfMissing('refreshFailures', 0);
    }
    return (await this.update(userId, update)) as UserRecord;
  }

  async claimLease(userId: string, owner: string, leaseMs: number, nowMs: number): Promise<UserRecord | undefined> {
    const update = new Expression()
      .set('leaseOwner', owner)
      .set('leaseExpiresAt', nowMs + leaseMs)
      .whereExists('refreshToken')
      .whereEquals('status', 'active');
    const expires = update.name('leaseExpiresAt');
    update.where(`attribute_not_exists(${expires}) OR ${expires} < ${update.value(nowMs)}`);
    return this.update(userId, update);
  }

  async releaseLease(userId: string, owner: string): Promise<void> {
    await this.update(userId, new Expression().remove('leaseOwner', 'leaseExpiresAt').whereEquals('leaseOwner', owner));
  }

  async replaceRefreshToken(
    userId: string,
    expectedVersion: number,
    token: StoredRefreshToken,
    now: Date,
  ): Promise<boolean> {
    const update = new Expression()
      .set('refreshToken', token.ciphertext)
      .set('tokenHash', token.tokenHash)
      .set('tokenPrefixHash', token.tokenPrefixHash)
      .set('tokenStoredAt', now.toISOString())
      .set('updatedAt', now.toISOString())
      .set('tokenVersion', expectedVersion + 1)
      .whereEquals('tokenVersion', expectedVersion)
      .whereEquals('status', 'active');
    return (await this.update(userId, update)) !== undefined;
  }

  async finishRefresh(userId: string, owner: string, outcome: RefreshOutcome): Promise<void> {
    const released = refreshOutcome(outcome).remove('leaseOwner', 'leaseExpiresAt').whereEquals('leaseOwner', owner);
    if (await this.update(userId, released)) return;
    await this.update(userId, refreshOutcome(outcome).whereExists(PK));
  }

  async recordRefresh(userId: string, outcome: RefreshOutcome): Promise<void> {
    await this.update(userId, refreshOutcome(outcome).whereExists(PK));
  }

  markRevoked(userId: string, revocation: Revocation, now: Date, expectedVersion?: number): Promise<boolean> {
    return this.endGrant(
      userId,
      'revoked',
      now,
      { reason: revocation.reason, revokedReason: revocation.detail, revokedAt: now.toISOString() },
      expectedVersion,
    );
  }

  markDisconnected(userId: string, now: Date, expectedVersion?: number): Promise<boolean> {
    return this.endGrant(
      userId,
      'disconnected',
      now,
      { reason: 'user_disconnected', disconnectedAt: now.toISOString() },
      expectedVersion,
      DISCONNECT_ERASES,
    );
  }

  private async endGrant(
    userId: string,
    status: GrantStatus,
    now: Date,
    extra: Record<string, string>,
    expectedVersion?: number,
    erase: readonly string[] = [],
  ): Promise<boolean> {
    const update = new Expression()
      .set('status', status)
      .set('updatedAt', now.toISOString())
      .remove(...TOKEN_ATTRIBUTES, ...erase)
      .whereExists(PK);
    if (erase.length) update.set('grantedScopes', []);
    for (const [attribute, value] of Object.entries(extra)) update.set(attribute, value);
    if (expectedVersion !== undefined) update.whereEquals('tokenVersion', expectedVersion);
    update.increment('tokenVersion');
    return (await this.update(userId, update)) !== undefined;
  }

  findUsersByTokenHash(tokenHash: string): Promise<string[]> {
    return this.queryUserIds(TOKEN_TABLE.indexes.tokenHash, tokenHash);
  }

  findUsersByTokenPrefixHash(tokenPrefixHash: string): Promise<string[]> {
    return this.queryUserIds(TOKEN_TABLE.indexes.tokenPrefixHash, tokenPrefixHash);
  }

  private async queryUserIds(index: IndexDefinition, value: string): Promise<string[]> {
    const key = new Expression();
    const keyCondition = `${key.name(index.partitionKey)} = ${key.value(value)}`;
    const { ExpressionAttributeNames, ExpressionAttributeValues } = key.build();
    const userIds: string[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.dynamo.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.indexName,
          KeyConditionExpression: keyCondition,
          ExpressionAttributeNames,
          ExpressionAttributeValues,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const pk = item[PK]?.S;
        if (pk?.startsWith(USER_PREFIX)) userIds.push(pk.slice(USER_PREFIX.length));
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return userIds;
  }

  async scanActiveUsers(input: {
    segment: number;
    totalSegments: number;
    cursor?: ScanCursor;
    limit?: number;
  }): Promise<ActiveUsersPage> {
    const index = TOKEN_TABLE.indexes.activeUsers;
    const out = await this.dynamo.send(
      new ScanCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        Segment: input.segment,
        TotalSegments: input.totalSegments,
        // The cursor is DynamoDB's own LastEvaluatedKey, carried through the queue as JSON.
        ExclusiveStartKey: input.cursor as Record<string, AttributeValue> | undefined,
        Limit: input.limit,
      }),
    );
    const userIds = (out.Items ?? []).flatMap((item) => {
      const id = item[index.partitionKey]?.S;
      return id ? [id] : [];
    });
    return out.LastEvaluatedKey ? { userIds, nextCursor: out.LastEvaluatedKey } : { userIds };
  }

  /** An UpdateItem of the user's item; `undefined` when its condition failed. */
  private async update(userId: string, expression: Expression): Promise<UserRecord | undefined> {
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: userKey(userId),
          ...expression.build(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toUserRecord(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}

function refreshOutcome(outcome: RefreshOutcome): Expression {
  const update = new Expression().set('updatedAt', outcome.at.toISOString());
  // The jobs map is the latest cycle's results: a job no longer configured drops out.
  if (Object.keys(outcome.jobs).length) update.set('jobs', outcome.jobs);
  if (outcome.succeeded) {
    update.set('lastRefreshAt', outcome.at.toISOString()).set('refreshFailures', 0).remove('lastRefreshError');
  } else {
    update.increment('refreshFailures').set('lastRefreshError', outcome.error ?? 'unknown');
  }
  return update;
}

/** A `USER#` item (from a read or a stream image) as the record the domain sees. */
export function toUserRecord(item: Record<string, AttributeValue>): UserRecord {
  const raw = unmarshall(item) as Record<string, unknown>;
  const { [PK]: _pk, activeUserId: _active, ...rest } = raw;
  return {
    ...(rest as unknown as UserRecord),
    grantedScopes: Array.isArray(raw.grantedScopes) ? (raw.grantedScopes as string[]) : [],
    tokenVersion: Number(raw.tokenVersion ?? 0),
    refreshFailures: Number(raw.refreshFailures ?? 0),
    emailVerified: raw.emailVerified === true,
  };
}
