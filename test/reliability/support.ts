/**
 * Steps the reliability suite shares: users signing in, fresh (cold) functions mounted on an
 * HTTP API of their own, one refresh of one user through a fresh worker, and the checks that
 * a record is intact (nothing half-written) or planned-changed.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CiphertextError } from '../../lib/crypto/envelope';
import type { BatchResult } from '../../lib/refresh/worker';
import type { UserRecord } from '../../lib/store/users';
import { startHttpApi } from '../../local/http-api';
import { toLambdaRecords } from '../../local/refresh-cycle';
import { cipherOf, userStoreOf } from '../support/steps';
import type { ApiAnswer, CallInit, ReliabilityStack } from './harness';

let counter = 0;
/** A user ID no other test uses. */
export const newUser = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export const JSON_HEADERS = { 'x-requested-with': 'com.example.app', 'content-type': 'application/json' };

/** The user consents on the device: a fresh one-time code (a refresh token comes with it on consent). */
export const codeFor = (rig: ReliabilityStack, sub: string, forceConsent = true): string =>
  rig.stack.google.authorize({ sub, forceConsent }).code;

export const postCode = (
  rig: ReliabilityStack,
  code: string,
  init: Pick<CallInit, 'baseUrl'> = {},
): Promise<ApiAnswer> =>
  rig.call('POST', '/authcode', { ...init, headers: JSON_HEADERS, body: JSON.stringify({ authCode: code }) });

/** Signs the user in through the HTTP API with forced consent; the record is active afterwards. */
export async function signedIn(rig: ReliabilityStack, sub: string): Promise<UserRecord> {
  const answer = await postCode(rig, codeFor(rig, sub));
  if (answer.status !== 200) throw new Error(`sign-in of ${sub} answered ${answer.status}: ${answer.text}`);
  const record = await userStoreOf(rig.stack).getUser(sub);
  if (record?.status !== 'active') throw new Error(`sign-in of ${sub} stored no active record`);
  return record;
}

/** The user's item exactly as stored (dynalite itself, past the fault proxy): for "unchanged" checks. */
export async function rawItem(rig: ReliabilityStack, sub: string): Promise<string | undefined> {
  const dynamo = new DynamoDBClient({ endpoint: rig.dynamoDirectUrl });
  try {
    const out = await dynamo.send(
      new GetItemCommand({
        TableName: rig.stack.aws.tableName,
        Key: { pk: { S: `USER#${sub}` } },
        ConsistentRead: true,
      }),
    );
    return out.Item ? JSON.stringify(out.Item, Object.keys(out.Item).sort()) : undefined;
  } finally {
    dynamo.destroy();
  }
}

/** Google holds a live refresh token for the user (the emulator's view). */
export const liveAtGoogle = (rig: ReliabilityStack, sub: string): boolean =>
  rig.stack.google.tokenState(sub).refreshTokenActive;

/** Authorization-code redemptions Google answered for the user (a code redeemed twice would show). */
export const redemptions = (rig: ReliabilityStack, sub: string): number =>
  rig.stack.google
    .requests()
    .filter((r) => r.endpoint === 'token' && r.grantType === 'authorization_code' && r.sub === sub && r.status === 200)
    .length;

/**
 * Nothing half-written: the record still holds the same ciphertext at the same version, active,
 * decrypting as its user only, with no lease left behind. Returns the record.
 */
export async function expectIntact(rig: ReliabilityStack, sub: string, before: UserRecord): Promise<UserRecord> {
  const record = await userStoreOf(rig.stack).getUser(sub);
  expect(record?.status).toBe('active');
  expect(record?.tokenVersion).toBe(before.tokenVersion);
  expect(Buffer.from(record!.refreshToken!).equals(Buffer.from(before.refreshToken!))).toBe(true);
  expect(record?.tokenHash).toBe(before.tokenHash);
  expect(record?.leaseOwner).toBeUndefined();
  await expectOwnCiphertext(rig, sub, record!);
  return record!;
}

/** The stored ciphertext decrypts as its user and fails as anyone else. */
export async function expectOwnCiphertext(rig: ReliabilityStack, sub: string, record: UserRecord): Promise<string> {
  const cipher = cipherOf(rig.stack);
  const token = await cipher.decrypt(record.refreshToken!, sub);
  await expect(cipher.decrypt(record.refreshToken!, `${sub}-other`)).rejects.toBeInstanceOf(CiphertextError);
  return token;
}

export interface FreshFunctions {
  /** The cold functions' HTTP API (`POST /authcode`, `/disconnect`, `/risc`). */
  baseUrl: string;
  /** One refresh message for these users through a cold worker. */
  refresh(users: string[]): Promise<BatchResult>;
}

/**
 * Runs `body` against functions loaded afresh (jest's module isolation): nothing cached — no
 * Google keys, no data keys — exactly like a cold Lambda execution environment.
 */
export async function withFreshFunctions(
  rig: ReliabilityStack,
  body: (fresh: FreshFunctions) => Promise<void>,
): Promise<void> {
  await jest.isolateModulesAsync(async () => {
    const exchange = await import('../../functions/exchange');
    const disconnect = await import('../../functions/disconnect');
    const risc = await import('../../functions/risc');
    const { refreshWorkerFunction } = await import('../../lib/runtime/refresh-worker');
    const api = await startHttpApi(
      { 'POST /authcode': exchange.handler, 'POST /disconnect': disconnect.handler, 'POST /risc': risc.handler },
      { port: 0 },
    );
    try {
      await body({
        baseUrl: api.url,
        async refresh(users) {
          refreshWorkerFunction.prepare();
          const worker = await refreshWorkerFunction.service();
          const message = { kind: 'refresh', cycle: new Date().toISOString(), users };
          const records = toLambdaRecords(
            [{ MessageId: `m-${newUser('msg')}`, ReceiptHandle: 'r', Body: JSON.stringify(message) }],
            rig.stack.queueUrl,
          );
          return worker.processBatch(records);
        },
      });
    } finally {
      await api.close();
    }
  });
}
