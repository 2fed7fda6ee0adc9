/**
 * The token store: every read and state change of the token table, behind one port.
 * Each change that can race is a single conditional write, so concurrent sign-ins,
 * refreshes, disconnects and RISC events always leave one consistent record.
 * The store only ever sees ciphertext; encryption happens before it is called.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TOKEN_TABLE } from './table-definition';

export type UserStatus = 'active' | 'no_refresh_token' | 'revoked' | 'disconnected';

export interface UserProfile {
  userId: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  givenName?: string;
  familyName?: string;
  picture?: string;
  locale?: string;
}

/** What a sign-in stores next to the profile when Google handed out a refresh token. */
export interface StoredRefreshToken {
  ciphertext: Uint8Array;
  tokenHash: string;
  tokenPrefixHash: string;
}

export interface JobResult {
  status: 'ok' | 'skipped' | 'failed';
  at: string;
  detail?: Record<string, unknown>;
  reason?: string;
}

export interface UserRecord extends UserProfile {
  status: UserStatus;
  grantedScopes: string[];
  refreshToken?: Uint8Array;
  /** Bumped on every change of the stored refresh token; guards conditional writes. */
  tokenVersion: number;
  tokenHash?: string;
  tokenPrefixHash?: string;
  createdAt: string;
  updatedAt: string;
  lastSignInAt?: string;
  tokenStoredAt?: string;
  lastRefreshAt?: string;
  refreshFailures: number;
  lastRefreshError?: string;
  jobs?: Record<string, JobResult>;
  revokedAt?: string;
  revokedReason?: string;
  disconnectedAt?: string;
  leaseOwner?: string;
  leaseExpiresAt?: number;
}

export interface ExchangeRecord {
  status: 'pending' | 'done';
  /** The 200 body already returned for this code: profile and scopes, never a token. */
  response?: Record<string, unknown>;
  expiresAt: number;
}

const userKey = (userId: string) => ({ [TOKEN_TABLE.partitionKey]: { S: `USER#${userId}` } });
const exchangeKey = (codeHash: string) => ({ [TOKEN_TABLE.partitionKey]: { S: `AUTHCODE#${codeHash}` } });
const eventKey = (jti: string) => ({ [TOKEN_TABLE.partitionKey]: { S: `RISC#${jti}` } });
const epochSeconds = (ms: number) => Math.floor(ms / 1000);

/** Builds an UpdateItem expression from named parts without hand-numbering placeholders. */
class UpdateBuilder {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private counter = 0;

  private readonly placeholders = new Map<string, string>();

  name(attribute: string): string {
    let placeholder = this.placeholders.get(attribute);
    if (!placeholder) {
      placeholder = `#n${this.placeholders.size}`;
      this.placeholders.set(attribute, placeholder);
      this.names[placeholder] = attribute;
    }
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = marshall({ v: value }, { removeUndefinedValues: true }).v as AttributeValue;
    return placeholder;
  }

  set(attribute: string, value: unknown): this {
    if (value === undefined) return this;
    this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  setIfMissing(attribute: string, value: unknown): this {
    const n = this.name(attribute);
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(value)})`);
    return this;
  }

  setExpression(expression: string): this {
    this.sets.push(expression);
    return this;
  }

  remove(...attributes: string[]): this {
    for (const attribute of attributes) this.removes.push(this.name(attribute));
    return this;
  }

  expression(): string {
    const parts: string[] = [];
    if (this.sets.length) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.removes.length) parts.push(`REMOVE ${this.removes.join(', ')}`);
    return parts.join(' ');
  }
}

const TOKEN_ATTRIBUTES = ['refreshToken', 'tokenHash', 'tokenPrefixHash', 'activeUserId'];

export class TokenStore {
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

  /**
   * Records a sign-in in one atomic write: profile and scopes always; the refresh token,
   * its RISC hashes and `active` state only when Google issued one. Without a new token
   * the stored ciphertext is left byte-identical.
   */
  async saveSignIn(input: {
    profile: UserProfile;
    grantedScopes: string[];
    refreshToken?: StoredRefreshToken;
    now: Date;
  }): Promise<UserRecord> {
    const at = input.now.toISOString();
    const { userId: _userId, ...profile } = input.profile;
    const update = new UpdateBuilder()
      .set('userId', input.profile.userId)
      .setIfMissing('createdAt', at)
      .set('updatedAt', at)
      .set('lastSignInAt', at)
      .set('grantedScopes', input.grantedScopes);
    for (const [attribute, value] of Object.entries(profile)) update.set(attribute, value);
    for (const attribute of Object.keys(PROFILE_OPTIONAL) as (keyof typeof PROFILE_OPTIONAL)[]) {
      if (profile[attribute] === undefined) update.remove(attribute);
    }
    if (input.refreshToken) {
      const version = update.name('tokenVersion');
      update
        .set('refreshToken', input.refreshToken.ciphertext)
        .set('tokenHash', input.refreshToken.tokenHash)
        .set('tokenPrefixHash', input.refreshToken.tokenPrefixHash)
        .set('tokenStoredAt', at)
        .set('status', 'active')
        .set('activeUserId', input.profile.userId)
        .setExpression(`${version} = if_not_exists(${version}, ${update.value(0)}) + ${update.value(1)}`)
        .set('refreshFailures', 0)
        .remove('revokedAt', 'revokedReason', 'disconnectedAt', 'lastRefreshError');
    } else {
      // Not beside the token branch's `refreshFailures = 0`: DynamoDB rejects overlapping paths.
      update
        .setIfMissing('status', 'no_refresh_token')
        .setIfMissing('tokenVersion', 0)
        .setIfMissing('refreshFailures', 0);
    }
    const out = await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: userKey(input.profile.userId),
        UpdateExpression: update.expression(),
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: update.values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toUserRecord(out.Attributes ?? {});
  }

  /**
   * Claims the user's refresh lease. Returns the record when claimed; `undefined` when the
   * user is gone, no longer active, or another run holds an unexpired lease.
   */
  async claimLease(userId: string, owner: string, leaseMs: number, nowMs: number): Promise<UserRecord | undefined> {
    const update = new UpdateBuilder().set('leaseOwner', owner).set('leaseExpiresAt', nowMs + leaseMs);
    const status = update.name('status');
    const expires = update.name('leaseExpiresAt');
    const condition = `attribute_exists(${update.name('refreshToken')}) AND ${status} = ${update.value('active')} AND (attribute_not_exists(${expires}) OR ${expires} < ${update.value(nowMs)})`;
    return this.conditionalUpdate(userId, update, condition);
  }

  /** Releases the lease if this run still holds it, so the next cycle can process the user. */
  async releaseLease(userId: string, owner: string): Promise<void> {
    const update = new UpdateBuilder().remove('leaseOwner', 'leaseExpiresAt');
    await this.conditionalUpdate(userId, update, `${update.name('leaseOwner')} = ${update.value(owner)}`);
  }

  /** Replaces the stored refresh token (Google rotated it), unless the record changed meanwhile. */
  async replaceRefreshToken(
    userId: string,
    expectedVersion: number,
    token: StoredRefreshToken,
    now: Date,
  ): Promise<boolean> {
    const update = new UpdateBuilder()
      .set('refreshToken', token.ciphertext)
      .set('tokenHash', token.tokenHash)
      .set('tokenPrefixHash', token.tokenPrefixHash)
      .set('tokenStoredAt', now.toISOString())
      .set('updatedAt', now.toISOString())
      .set('tokenVersion', expectedVersion + 1);
    const condition = `${update.name('tokenVersion')} = ${update.value(expectedVersion)} AND ${update.name('status')} = ${update.value('active')}`;
    return (await this.conditionalUpdate(userId, update, condition)) !== undefined;
  }

  /** Records one refresh cycle's outcome for the user. */
  async recordRefresh(userId: string, outcome: RefreshOutcome): Promise<void> {
    const update = refreshOutcomeUpdate(outcome);
    await this.conditionalUpdate(userId, update, `attribute_exists(${update.name(TOKEN_TABLE.partitionKey)})`);
  }

  /**
   * Records the outcome and releases this run's lease in one write (a third fewer writes per
   * refreshed user). When the lease is no longer ours (it expired and another run took it),
   * records the outcome without touching that run's lease.
   */
  async finishRefresh(userId: string, owner: string, outcome: RefreshOutcome): Promise<void> {
    const update = refreshOutcomeUpdate(outcome).remove('leaseOwner', 'leaseExpiresAt');
    if (await this.conditionalUpdate(userId, update, `${update.name('leaseOwner')} = ${update.value(owner)}`)) return;
    await this.recordRefresh(userId, outcome);
  }

  /**
   * Marks the user's grant revoked (`invalid_grant`, RISC): destroys the ciphertext and its
   * hashes and drops the user from the dispatcher's index. With `expectedVersion`, only if
   * the token is still the one that was found dead (a newer sign-in wins).
   */
  async markRevoked(userId: string, reason: string, now: Date, expectedVersion?: number): Promise<boolean> {
    return this.endGrant(
      userId,
      'revoked',
      now,
      { revokedReason: reason, revokedAt: now.toISOString() },
      expectedVersion,
    );
  }

  /**
   * The user took access back: ciphertext destroyed, user marked disconnected. Idempotent.
   * With `expectedVersion`, only if the stored token is still the one the caller revoked.
   */
  async markDisconnected(userId: string, now: Date, expectedVersion?: number): Promise<boolean> {
    return this.endGrant(userId, 'disconnected', now, { disconnectedAt: now.toISOString() }, expectedVersion);
  }

  private async endGrant(
    userId: string,
    status: UserStatus,
    now: Date,
    extra: Record<string, string>,
    expectedVersion?: number,
  ): Promise<boolean> {
    const update = new UpdateBuilder()
      .set('status', status)
      .set('updatedAt', now.toISOString())
      .remove(...TOKEN_ATTRIBUTES);
    for (const [attribute, value] of Object.entries(extra)) update.set(attribute, value);
    const version = update.name('tokenVersion');
    update.setExpression(`${version} = if_not_exists(${version}, ${update.value(0)}) + ${update.value(1)}`);
    let condition = `attribute_exists(${update.name(TOKEN_TABLE.partitionKey)})`;
    if (expectedVersion !== undefined) condition += ` AND ${version} = ${update.value(expectedVersion)}`;
    return (await this.conditionalUpdate(userId, update, condition)) !== undefined;
  }

  /** Users whose stored refresh token has this RISC hash (a GSI lookup; eventually consistent). */
  async findUsersByTokenHash(tokenHash: string): Promise<string[]> {
    return this.queryUserIds(TOKEN_TABLE.indexes.tokenHash, tokenHash);
  }

  async findUsersByTokenPrefixHash(tokenPrefixHash: string): Promise<string[]> {
    return this.queryUserIds(TOKEN_TABLE.indexes.tokenPrefixHash, tokenPrefixHash);
  }

  private async queryUserIds(index: { indexName: string; partitionKey: string }, value: string): Promise<string[]> {
    const userIds: string[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.dynamo.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.indexName,
          KeyConditionExpression: '#k = :v',
          ExpressionAttributeNames: { '#k': index.partitionKey },
          ExpressionAttributeValues: { ':v': { S: value } },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const pk = item[TOKEN_TABLE.partitionKey]?.S;
        if (pk?.startsWith('USER#')) userIds.push(pk.slice('USER#'.length));
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return userIds;
  }

  /**
   * One page of one parallel-scan segment of the active-users index (keys only).
   * The dispatcher walks pages and checkpoints `nextKey` so no invocation grows with the table.
   */
  async scanActiveUsers(input: {
    segment: number;
    totalSegments: number;
    startKey?: Record<string, AttributeValue>;
    limit?: number;
  }): Promise<{ userIds: string[]; nextKey?: Record<string, AttributeValue> }> {
    const out = await this.dynamo.send(
      new ScanCommand({
        TableName: this.tableName,
        IndexName: TOKEN_TABLE.indexes.activeUsers.indexName,
        Segment: input.segment,
        TotalSegments: input.totalSegments,
        ExclusiveStartKey: input.startKey,
        Limit: input.limit,
      }),
    );
    const userIds = (out.Items ?? []).flatMap((item) => {
      const id = item[TOKEN_TABLE.indexes.activeUsers.partitionKey]?.S;
      return id ? [id] : [];
    });
    return out.LastEvaluatedKey ? { userIds, nextKey: out.LastEvaluatedKey } : { userIds };
  }

  /**
   * Starts an exchange for a code hash. Returns `claimed` when this caller must redeem the
   * code, or the existing record (pending: another request is redeeming it; done: replay).
   */
  async beginExchange(
    codeHash: string,
    nowMs: number,
    ttlMs: number,
  ): Promise<{ claimed: true } | { claimed: false; existing: ExchangeRecord | undefined }> {
    const expiresAt = epochSeconds(nowMs + ttlMs);
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...exchangeKey(codeHash), status: { S: 'pending' }, expiresAt: { N: String(expiresAt) } },
          ConditionExpression: 'attribute_not_exists(#pk) OR #exp < :now',
          ExpressionAttributeNames: { '#pk': TOKEN_TABLE.partitionKey, '#exp': TOKEN_TABLE.timeToLiveAttribute },
          ExpressionAttributeValues: { ':now': { N: String(epochSeconds(nowMs)) } },
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { claimed: false, existing: await this.getExchange(codeHash) };
    }
  }

  async getExchange(codeHash: string): Promise<ExchangeRecord | undefined> {
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: exchangeKey(codeHash), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const item = unmarshall(out.Item);
    return {
      status: item.status === 'done' ? 'done' : 'pending',
      expiresAt: Number(item.expiresAt),
      ...(typeof item.response === 'string' ? { response: JSON.parse(item.response) as Record<string, unknown> } : {}),
    };
  }

  async completeExchange(codeHash: string, response: Record<string, unknown>, expiresAtMs: number): Promise<void> {
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...exchangeKey(codeHash),
          status: { S: 'done' },
          response: { S: JSON.stringify(response) },
          expiresAt: { N: String(epochSeconds(expiresAtMs)) },
        },
      }),
    );
  }

  /** Forgets a failed exchange so that a client retry can try the code again (it is not redeemed). */
  async abandonExchange(codeHash: string): Promise<void> {
    await this.dynamo
      .send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: exchangeKey(codeHash),
          ConditionExpression: '#s = :pending',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': { S: 'pending' } },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  /** Records a security event's `jti`; false when it was already processed (a replay). */
  async recordSecurityEvent(jti: string, nowMs: number, ttlMs: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...eventKey(jti),
            receivedAt: { S: new Date(nowMs).toISOString() },
            expiresAt: { N: String(epochSeconds(nowMs + ttlMs)) },
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TOKEN_TABLE.partitionKey },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Forgets a security event whose processing failed, so Google's redelivery is acted on. */
  async forgetSecurityEvent(jti: string): Promise<void> {
    await this.dynamo.send(new DeleteItemCommand({ TableName: this.tableName, Key: eventKey(jti) }));
  }

  /** An UpdateItem under a condition; `undefined` when the condition failed. */
  private async conditionalUpdate(
    userId: string,
    update: UpdateBuilder,
    condition: string,
  ): Promise<UserRecord | undefined> {
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: userKey(userId),
          UpdateExpression: update.expression(),
          ConditionExpression: condition,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: Object.keys(update.values).length ? update.values : undefined,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toUserRecord(out.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}

/** What one refresh of a user ended with. */
export interface RefreshOutcome {
  at: Date;
  jobs: Record<string, JobResult>;
  error?: string;
  succeeded: boolean;
}

function refreshOutcomeUpdate(outcome: RefreshOutcome): UpdateBuilder {
  const update = new UpdateBuilder().set('updatedAt', outcome.at.toISOString());
  // The jobs map is the latest cycle's results: a job no longer configured drops out.
  if (Object.keys(outcome.jobs).length) update.set('jobs', outcome.jobs);
  if (outcome.succeeded) {
    update.set('lastRefreshAt', outcome.at.toISOString()).set('refreshFailures', 0).remove('lastRefreshError');
  } else {
    const failures = update.name('refreshFailures');
    update
      .setExpression(`${failures} = if_not_exists(${failures}, ${update.value(0)}) + ${update.value(1)}`)
      .set('lastRefreshError', outcome.error ?? 'unknown');
  }
  return update;
}

const PROFILE_OPTIONAL = { email: 1, name: 1, givenName: 1, familyName: 1, picture: 1, locale: 1 } as const;

function toUserRecord(item: Record<string, AttributeValue>): UserRecord {
  const raw = unmarshall(item) as Record<string, unknown>;
  const { pk: _pk, activeUserId: _active, ...rest } = raw;
  return {
    ...(rest as unknown as UserRecord),
    grantedScopes: Array.isArray(raw.grantedScopes) ? (raw.grantedScopes as string[]) : [],
    tokenVersion: Number(raw.tokenVersion ?? 0),
    refreshFailures: Number(raw.refreshFailures ?? 0),
    emailVerified: raw.emailVerified === true,
  };
}
