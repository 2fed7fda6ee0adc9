/**
 * The one definition of the token table. The CDK stack (`infra/`) and
 * `npm run provision:local` both build the table from it, so keys and indexes never drift.
 *
 * Items, all keyed by `pk`:
 * - `USER#<sub>`: the user's record (profile, scopes, encrypted refresh token, refresh state).
 * - `AUTHCODE#<sha256(code)>`: idempotency record of one exchange (no token), expires.
 * - `RISC#<jti>`: a processed security event, expires.
 * - `JOBSTATE#<sub>`: what the offline jobs remember about the user between runs (page
 *   token, push channel); deleted with the grant.
 * - `REFRESHCYCLE#current`, `REFRESHBATCH#<cycle>#<batch>`: the refresh ledger (the cycle, and
 *   one claim per refresh message, which expires).
 * - `ACCESS#<sub>`: the token function's cached access token (ciphertext) and refresh lock, expires.
 *
 * The short-lived kinds expire through `expiresAt` (epoch seconds, the table's TTL). The
 * refresh lease is not an item: it lives on the user record (`leaseOwner`, `leaseExpiresAt`).
 * The CDK stack grants item access by these prefixes (`dynamodb:LeadingKeys`), so a new kind
 * of item needs its own grant there.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The kinds of item, by the prefix of their partition key. The adapters build keys from
 * these, and the CDK stack grants item access by them (`dynamodb:LeadingKeys`), so a new
 * kind of item needs its own entry here and its own grant there.
 */
export const ITEM_KINDS = {
  /** `USER#<sub>`: the user's record. */
  user: 'USER#',
  /** `AUTHCODE#<sha256(code)>`: the exchange ledger (one record per redeemed code). */
  exchange: 'AUTHCODE#',
  /** `RISC#<jti>`: the security-event ledger. */
  securityEvent: 'RISC#',
  /** `JOBSTATE#<sub>`: what the offline jobs remember about a user between runs. */
  jobState: 'JOBSTATE#',
  /** `REFRESHCYCLE#current`: the refresh cycle running (or last run) and its message counts. */
  refreshCycle: 'REFRESHCYCLE#',
  /** `REFRESHBATCH#<cycle>#<batch>`: the claim of one refresh message, expires. */
  refreshBatch: 'REFRESHBATCH#',
  /** `ACCESS#<sub>`: the token function's cached access token (ciphertext) and refresh lock. */
  accessToken: 'ACCESS#',
} as const;

export type ItemKind = keyof typeof ITEM_KINDS;

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
}

export const TOKEN_TABLE = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'expiresAt',
  indexes: {
    /** Sparse: only users with a usable refresh token carry `activeUserId`; the dispatcher scans it. */
    activeUsers: { indexName: 'ActiveUsers', partitionKey: 'activeUserId' },
    /** RISC `hash_base64_sha512_sha512` lookups. */
    tokenHash: { indexName: 'TokenHash', partitionKey: 'tokenHash' },
    /** RISC `prefix` lookups: a hash of the token's first 16 characters, never the prefix. */
    tokenPrefixHash: { indexName: 'TokenPrefixHash', partitionKey: 'tokenPrefixHash' },
  },
} as const satisfies {
  partitionKey: string;
  timeToLiveAttribute: string;
  indexes: Record<string, IndexDefinition>;
};

export const TOKEN_TABLE_INDEXES: readonly IndexDefinition[] = Object.values(TOKEN_TABLE.indexes);

/** CreateTable input for on-demand tables (local provisioning; the CDK maps the same definition). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const keyAttributes = [TOKEN_TABLE.partitionKey, ...TOKEN_TABLE_INDEXES.map((index) => index.partitionKey)];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: TOKEN_TABLE.partitionKey, KeyType: 'HASH' }],
    AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    GlobalSecondaryIndexes: TOKEN_TABLE_INDEXES.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [{ AttributeName: index.partitionKey, KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    })),
  };
}
