/**
 * The steps integration suites share, so each reads as sentences: a user signs in through
 * the real exchange, the store and cipher a suite inspects the table with, and a capture of
 * everything the loggers write (to assert that no line ever held a token, code or secret).
 */
import { DeleteItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { kmsCipher } from '../../lib/aws/kms-data-keys';
import type { EnvelopeCipher } from '../../lib/crypto/envelope';
import { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { UserStore } from '../../lib/store/users';
import type { HttpApi } from '../../local/http-api';
import type { TestStack } from './stack';

/** The user store over the stack's table, as the functions build it. */
export const userStoreOf = (stack: TestStack): DynamoUserStore =>
  new DynamoUserStore(new DynamoDBClient({}), stack.aws.tableName);

/**
 * Forgets the refresh cycle the table remembers, so that the next dispatch starts a new
 * one: tests that take messages off the queue without processing them leave their cycle
 * unfinished, and the dispatcher would (rightly) refuse to start another.
 */
export async function forgetRefreshCycle(stack: TestStack): Promise<void> {
  const dynamo = new DynamoDBClient({});
  try {
    await dynamo.send(
      new DeleteItemCommand({ TableName: stack.aws.tableName, Key: { pk: { S: 'REFRESHCYCLE#current' } } }),
    );
  } finally {
    dynamo.destroy();
  }
}

/** The refresh-token cipher under the stack's KMS key, as the functions build it. */
export const cipherOf = (stack: TestStack): EnvelopeCipher => kmsCipher(new KMSClient({}), stack.aws.kmsKeyId);

export interface SignInOptions {
  scopes?: string[];
  /** Post the code as a form, as the Android sample does (default JSON). */
  form?: boolean;
}

/**
 * The user signs in with forced consent on the device and the app posts the code to the
 * real exchange: a refresh token is stored. Answers the exchange's 200 body.
 */
export async function signIn(
  stack: TestStack,
  api: HttpApi,
  sub: string,
  options: SignInOptions = {},
): Promise<Record<string, unknown>> {
  const { code } = stack.google.authorize({
    sub,
    forceConsent: true,
    ...(options.scopes ? { scopes: options.scopes } : {}),
  });
  const response = await fetch(`${api.url}/authcode`, {
    method: 'POST',
    headers: {
      'x-requested-with': 'com.example.app',
      'content-type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
    },
    body: options.form ? new URLSearchParams({ authCode: code }).toString() : JSON.stringify({ authCode: code }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200)
    throw new Error(`sign-in of ${sub} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/** The plaintext of the refresh token stored for `sub` (for secret scans and Google-side checks). */
export async function storedRefreshToken(stack: TestStack, store: UserStore, sub: string): Promise<string> {
  const record = await store.getUser(sub);
  if (!record?.refreshToken) throw new Error(`no refresh token stored for ${sub}`);
  return cipherOf(stack).decrypt(record.refreshToken, sub);
}

/**
 * Time passes for the stored refresh token: its `tokenStoredAt` moves `seconds` into the
 * past, as if the sign-in had happened then (pair it with the Google emulator's
 * `advanceClock` so Google ages the token too).
 */
export async function backdateStoredToken(stack: TestStack, sub: string, seconds: number): Promise<void> {
  const dynamo = new DynamoDBClient({});
  try {
    await dynamo.send(
      new UpdateItemCommand({
        TableName: stack.aws.tableName,
        Key: { pk: { S: `USER#${sub}` } },
        UpdateExpression: 'SET tokenStoredAt = :at',
        ConditionExpression: 'attribute_exists(tokenStoredAt)',
        ExpressionAttributeValues: { ':at': { S: new Date(Date.now() - seconds * 1000).toISOString() } },
      }),
    );
  } finally {
    dynamo.destroy();
  }
}

/** A published `Connection Status Changed` event's Detail. */
export interface ConnectionEventDetail {
  eventId: string;
  userId: string;
  status: string;
  previousStatus: string;
  reason?: string;
  at: string;
}

/**
 * The `Connection Status Changed` events published for `userId` so far, in order, once the
 * table's stream has been consumed up to now (so every write made before is accounted for).
 */
export async function connectionEventsOf(stack: TestStack, userId: string): Promise<ConnectionEventDetail[]> {
  await stack.connectionEvents.drain();
  return stack.eventBridge
    .events('Connection Status Changed')
    .filter((event) => event.source === 'google-offline-access')
    .map((event) => event.detail as ConnectionEventDetail)
    .filter((detail) => detail.userId === userId);
}

/** Every user the dispatcher would enqueue (the active-users index, one segment). */
export async function activeUserIds(store: Pick<UserStore, 'scanActiveUsers'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: Awaited<ReturnType<UserStore['scanActiveUsers']>>['nextCursor'];
  do {
    const page = await store.scanActiveUsers({ segment: 0, totalSegments: 1, ...(cursor ? { cursor } : {}) });
    ids.push(...page.userIds);
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

export interface LogCapture {
  text(): string;
  restore(): void;
}

/** Captures everything written to stdout/stderr, where the Powertools logger writes. */
export function captureOutput(): LogCapture {
  const chunks: string[] = [];
  const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const tap =
    (original: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = tap(originals.out);
  process.stderr.write = tap(originals.err);
  return {
    text: () => chunks.join(''),
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}

/** The error-level lines of captured Powertools output (a rejected request must log none). */
export function errorLines(text: string): string[] {
  return text.split('\n').filter((line) => /"level":"(ERROR|CRITICAL)"/.test(line));
}
