/**
 * The user store's change stream, decoded: DynamoDB stream records (`NEW_AND_OLD_IMAGES`,
 * as Lambda delivers them and as the local change feed produces them) of `USER#` items,
 * turned into the `UserChange`s the connection-events publisher reads. Other items of the
 * table (exchange and security-event ledgers) are left out.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { UserChange } from '../../connection-events';
import { TOKEN_TABLE } from '../table-definition';
import { toUserRecord, USER_PREFIX } from './user-store';

type Image = Record<string, AttributeValue>;

/** The `USER#` changes among `records`, in stream order. */
export function userChangesOf(records: readonly DynamoDBRecord[]): UserChange[] {
  const changes: UserChange[] = [];
  for (const record of records) {
    const stream = record.dynamodb;
    const pk = stream?.Keys?.[TOKEN_TABLE.partitionKey]?.S;
    if (!stream?.SequenceNumber || !pk?.startsWith(USER_PREFIX)) continue;
    // Lambda's stream images are DynamoDB JSON (binary as base64 text), the same shape the SDK reads.
    const before = stream.OldImage ? toUserRecord(stream.OldImage as Image) : undefined;
    const after = stream.NewImage ? toUserRecord(stream.NewImage as Image) : undefined;
    const seconds = stream.ApproximateCreationDateTime;
    changes.push({
      position: stream.SequenceNumber,
      userId: pk.slice(USER_PREFIX.length),
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
      approximateAt: new Date(seconds !== undefined ? seconds * 1000 : Date.now()).toISOString(),
    });
  }
  return changes;
}
