/** The user directory on DynamoDB: a Scan of `USER#` items that projects away the token material. */
import {
  DescribeTableCommand,
  GetItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ITEM_KINDS, TOKEN_TABLE } from '../table-definition';
import type { UserDirectory, UserDirectoryPage, UserSummary } from '../user-directory';
import { Expression } from './expression';

const PK = TOKEN_TABLE.partitionKey;
/** Everything an operator may see. Not `refreshToken`, `tokenHash`, `tokenPrefixHash`. */
const VISIBLE = [
  PK,
  'userId',
  'email',
  'emailVerified',
  'name',
  'givenName',
  'familyName',
  'picture',
  'locale',
  'status',
  'grantedScopes',
  'tokenVersion',
  'createdAt',
  'updatedAt',
  'lastSignInAt',
  'tokenStoredAt',
  'lastRefreshAt',
  'refreshFailures',
  'lastRefreshError',
  'jobs',
  'revokedAt',
  'revokedReason',
  'disconnectedAt',
  'leaseOwner',
  'leaseExpiresAt',
  // Only whether it exists: `activeUserId` is set exactly while a refresh token is stored.
  'activeUserId',
];

export class DynamoUserDirectory implements UserDirectory {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async scanUsers(input: { cursor?: string; pageSize?: number }): Promise<UserDirectoryPage> {
    const expression = new Expression();
    const projection = VISIBLE.map((attribute) => expression.name(attribute)).join(', ');
    expression.where(`begins_with(${expression.name(PK)}, ${expression.value(ITEM_KINDS.user)})`);
    const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = expression.build();
    const out = await this.dynamo.send(
      new ScanCommand({
        TableName: this.tableName,
        ProjectionExpression: projection,
        FilterExpression: ConditionExpression,
        ExpressionAttributeNames,
        ExpressionAttributeValues,
        Limit: input.pageSize ?? 500,
        ...(input.cursor ? { ExclusiveStartKey: decodeCursor(input.cursor) } : {}),
      }),
    );
    const users = (out.Items ?? []).map(toSummary);
    return {
      users,
      scanned: out.ScannedCount ?? users.length,
      ...(out.LastEvaluatedKey ? { nextCursor: encodeCursor(out.LastEvaluatedKey) } : {}),
    };
  }

  cursorAfter(userId: string): string {
    return encodeCursor({ [PK]: { S: `${ITEM_KINDS.user}${userId}` } });
  }

  async approximateItemCount(): Promise<number | undefined> {
    const out = await this.dynamo.send(new DescribeTableCommand({ TableName: this.tableName }));
    return out.Table?.ItemCount;
  }

  async cachedAccessTokenExpiry(userId: string): Promise<Date | undefined> {
    const out = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [PK]: { S: `${ITEM_KINDS.accessToken}${userId}` } },
        ProjectionExpression: 'tokenExpiresAt',
      }),
    );
    const expiresAt = out.Item?.tokenExpiresAt?.N;
    return expiresAt ? new Date(Number(expiresAt)) : undefined;
  }
}

function toSummary(item: Record<string, AttributeValue>): UserSummary {
  const raw = unmarshall(item) as Record<string, unknown>;
  const { [PK]: pk, activeUserId, ...rest } = raw;
  return {
    ...(rest as unknown as UserSummary),
    userId: typeof raw.userId === 'string' ? raw.userId : String(pk).slice(ITEM_KINDS.user.length),
    grantedScopes: Array.isArray(raw.grantedScopes) ? (raw.grantedScopes as string[]) : [],
    tokenVersion: Number(raw.tokenVersion ?? 0),
    refreshFailures: Number(raw.refreshFailures ?? 0),
    emailVerified: raw.emailVerified === true,
    hasRefreshToken: activeUserId !== undefined,
  };
}

const encodeCursor = (key: Record<string, AttributeValue>): string =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(cursor: string): Record<string, AttributeValue> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof key === 'object' && key !== null) return key as Record<string, AttributeValue>;
  } catch {
    // fall through
  }
  throw new RangeError('The cursor is not one this tool printed');
}
