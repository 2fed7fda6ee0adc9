/**
 * The scheduled refresh end to end: users signed in through the real exchange handler, the
 * real dispatch and worker handlers, the SQS, KMS and Google emulators and DynamoDB over
 * HTTP — no mocked clients. Each test signs in its own users.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { riscTokenHash } from '../../lib/crypto/envelope';
import type { DispatchResult } from '../../lib/refresh/dispatch';
import type { RefreshQueueMessage, RefreshUsersMessage, RevokeTokenMessage } from '../../lib/refresh/messages';
import type { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { UserRecord } from '../../lib/store/users';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { RequestLogEntry } from '../../local/google-emulator';
import type { HttpApi } from '../../local/http-api';
import {
  captureOutput,
  cipherOf,
  forgetRefreshCycle,
  signIn as signInAs,
  userStoreOf,
  type LogCapture,
} from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(60_000);

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const MAX_ATTEMPTS = 3;

type Handler<E, R> = (event: E, context?: { getRemainingTimeInMillis?: () => number }) => Promise<R>;

let stack: TestStack;
let api: HttpApi;
let logs: LogCapture;
let sqs: SQSClient;
let dynamo: DynamoDBClient;
let store: DynamoUserStore;
let dispatch: Handler<{ time?: string }, DispatchResult>;
let worker: Handler<SQSEvent, SQSBatchResponse>;
let toLambdaRecords: typeof import('../../local/refresh-cycle').toLambdaRecords;

beforeAll(async () => {
  logs = captureOutput();
  stack = await startTestStack();
  Object.assign(process.env, {
    GOOGLE_QPS: '1000',
    REFRESH_RETRY_BASE_MS: '5',
    REFRESH_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    // Small pages, so that a tiny time budget leaves segments unfinished.
    DISPATCH_SCAN_PAGE_SIZE: '5',
  });
  const exchange = await import('../../functions/exchange');
  dispatch = (await import('../../functions/refresh-dispatch')).handler;
  worker = (await import('../../functions/refresh-worker')).handler;
  toLambdaRecords = (await import('../../local/refresh-cycle')).toLambdaRecords;
  api = await stack.serve({ 'POST /authcode': exchange.handler });
  sqs = new SQSClient({});
  dynamo = new DynamoDBClient({});
  store = userStoreOf(stack);
}, 30_000);

afterAll(async () => {
  logs.restore();
  sqs?.destroy();
  dynamo?.destroy();
  await stack?.close();
});

beforeEach(async () => {
  stack.google.clearFaults();
  await forgetRefreshCycle(stack);
});

/** A user signs in on the device and the app posts the code: the real exchange stores the token. */
async function signIn(sub: string, scopes?: string[]): Promise<void> {
  await signInAs(stack, api, sub, { form: true, ...(scopes ? { scopes } : {}) });
}

const subs = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

async function user(sub: string): Promise<UserRecord> {
  return (await store.getUser(sub))!;
}

/** Up to ten messages off the queue, with their receive counts. */
const receiveBatch = () =>
  sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: stack.queueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
    }),
  );

/** Everything on the queue, taken off it. */
async function takeAll(): Promise<Message[]> {
  const taken: Message[] = [];
  for (;;) {
    const out = await receiveBatch();
    if (!out.Messages?.length) return taken;
    taken.push(...out.Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.queueUrl,
        Entries: out.Messages.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
}

const bodies = (messages: Message[]) => messages.map((message) => JSON.parse(message.Body!) as RefreshQueueMessage);
const eventOf = (messages: Message[]): SQSEvent => ({ Records: toLambdaRecords(messages, stack.queueUrl) });

/** Refresh messages handed straight to the worker, as SQS would deliver them. */
function refreshEvent(cycle: string, ...userGroups: string[][]): SQSEvent {
  const messages = userGroups.map((users, i) => {
    const body: RefreshUsersMessage = { kind: 'refresh', cycle, users };
    return { MessageId: `msg-${i}`, ReceiptHandle: `rh-${i}`, Body: JSON.stringify(body) };
  });
  return eventOf(messages);
}

/** Runs the worker over the queue until it is empty, the way Lambda's event source would. */
async function drainQueue(context?: {
  getRemainingTimeInMillis: () => number;
}): Promise<{ failures: string[]; batches: number }> {
  const failures: string[] = [];
  let batches = 0;
  for (;;) {
    const out = await receiveBatch();
    if (!out.Messages?.length) return { failures, batches };
    batches += 1;
    const { batchItemFailures } = await worker(eventOf(out.Messages), context);
    failures.push(...batchItemFailures.map((failure) => failure.itemIdentifier));
    const failed = new Set(failures);
    const done = out.Messages.filter((message) => !failed.has(message.MessageId!));
    if (done.length) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: stack.queueUrl,
          Entries: done.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
  }
}

const googleRequests = (): RequestLogEntry[] => stack.google.requests();
const refreshGrants = (log: RequestLogEntry[], sub: string) =>
  log.filter((entry) => entry.endpoint === 'token' && entry.grantType === 'refresh_token' && entry.sub === sub);

describe('scheduled refresh', () => {
  it('refreshes 50 signed-in users, each Drive call carrying that user’s fresh access token', async () => {
    const users = subs('fifty', 50);
    for (const sub of users) await signIn(sub);
    stack.google.seedDriveFile('fifty-0', { name: 'a.json', size: 100, modifiedTime: '2026-01-01T00:00:00.000Z' });
    stack.google.seedDriveFile('fifty-0', { name: 'b.json', size: 23, modifiedTime: '2026-03-04T05:06:07.000Z' });
    stack.google.clearRequests();

    const dispatched = await dispatch({ time: new Date().toISOString() });
    expect(dispatched).toMatchObject({ users: 50, segments: 4, checkpointed: 0 });
    expect(dispatched.messages).toBeGreaterThanOrEqual(5);
    expect((await drainQueue()).failures).toEqual([]);

    const log = googleRequests();
    const driveCalls = log.filter((entry) => entry.endpoint === 'drive');
    expect(driveCalls.every((entry) => entry.status === 200 && entry.freshToken === true)).toBe(true);
    expect(new Set(driveCalls.map((entry) => entry.sub))).toEqual(new Set(users));
    for (const sub of users) expect(refreshGrants(log, sub)).toHaveLength(1);

    const seeded = await user('fifty-0');
    expect(seeded.lastRefreshAt).toBeDefined();
    expect(seeded.refreshFailures).toBe(0);
    expect(seeded.jobs?.['appdata-summary']).toMatchObject({
      status: 'ok',
      detail: { fileCount: 2, totalBytes: 123, newestModifiedTime: '2026-03-04T05:06:07.000Z' },
    });
    expect((await user('fifty-1')).jobs?.['appdata-summary']?.detail).toEqual({
      fileCount: 0,
      totalBytes: 0,
      newestModifiedTime: null,
    });
  }, 60_000);

  it('reads every page of a large app data folder', async () => {
    await signIn('big-folder');
    for (let i = 0; i < 1500; i++)
      stack.google.seedDriveFile('big-folder', {
        name: `f${i}.json`,
        size: 2,
        modifiedTime: '2026-02-01T00:00:00.000Z',
      });
    stack.google.seedDriveFile('big-folder', {
      name: 'newest.json',
      size: 10,
      modifiedTime: '2026-05-01T00:00:00.000Z',
    });
    stack.google.clearRequests();

    expect((await worker(refreshEvent(new Date().toISOString(), ['big-folder']))).batchItemFailures).toEqual([]);
    expect((await user('big-folder')).jobs?.['appdata-summary']?.detail).toEqual({
      fileCount: 1501,
      totalBytes: 3010,
      newestModifiedTime: '2026-05-01T00:00:00.000Z',
    });
    expect(googleRequests().filter((entry) => entry.endpoint === 'drive')).toHaveLength(2);
  });

  it('retries Drive at one layer only: a bounded number of calls, then the message comes back', async () => {
    await signIn('drive-down');
    stack.google.injectFault({ endpoint: 'drive', kind: 503, count: 100, sub: 'drive-down' });
    stack.google.clearRequests();

    expect((await worker(refreshEvent(new Date().toISOString(), ['drive-down']))).batchItemFailures).toEqual([
      { itemIdentifier: 'msg-0' },
    ]);
    const log = googleRequests();
    expect(log.filter((entry) => entry.endpoint === 'drive')).toHaveLength(MAX_ATTEMPTS);
    expect(refreshGrants(log, 'drive-down')).toHaveLength(1);
    const record = await user('drive-down');
    expect(record.jobs?.['appdata-summary']).toMatchObject({ status: 'failed' });
    expect(record.refreshFailures).toBe(1);
    expect(record.leaseOwner).toBeUndefined();
  });

  it('marks a revoked user revoked, never retries it and never dispatches it again', async () => {
    await signIn('revoked-0');
    await signIn('revoked-ok');
    stack.google.revokeUser('revoked-0');
    stack.google.clearRequests();
    const output = logs.text().length;

    const response = await worker(refreshEvent(new Date().toISOString(), ['revoked-0', 'revoked-ok']));
    expect(response.batchItemFailures).toEqual([]);
    const revoked = await user('revoked-0');
    expect(revoked).toMatchObject({ status: 'revoked' });
    expect(revoked.revokedReason).toMatch(/^invalid_grant/);
    expect(revoked.refreshToken).toBeUndefined();
    // Google no longer knows whose token it was: its one rejection is the one for revoked-0.
    const rejected = googleRequests().filter((entry) => entry.grantType === 'refresh_token' && entry.status === 400);
    expect(rejected).toHaveLength(1);
    expect((await user('revoked-ok')).lastRefreshAt).toBeDefined();
    // Powertools writes the metric in CloudWatch's embedded metric format.
    const emf = logs
      .text()
      .slice(output)
      .split('\n')
      .filter((line) => line.includes('"RevokedUsers"'));
    expect(emf.map((line) => (JSON.parse(line) as { RevokedUsers: number }).RevokedUsers)).toEqual([1]);

    await dispatch({ time: new Date().toISOString() });
    const dispatchedUsers = bodies(await takeAll()).flatMap((message) =>
      message.kind === 'refresh' ? message.users : [],
    );
    expect(dispatchedUsers).toContain('revoked-ok');
    expect(dispatchedUsers).not.toContain('revoked-0');
  });

  it('refreshes everyone again on every cycle, even for an event whose time is old (a replayed sample event)', async () => {
    const users = subs('again', 3);
    for (const sub of users) await signIn(sub);
    await takeAll();
    const sampleEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2015-10-08T16:53:06Z' };
    for (let cycle = 1; cycle <= 2; cycle++) {
      stack.google.clearRequests();
      await dispatch(sampleEvent);
      expect((await drainQueue()).failures).toEqual([]);
      for (const sub of users) expect(refreshGrants(googleRequests(), sub)).toHaveLength(1);
    }
  });

  it('marks a user whose ciphertext belongs to someone else revoked instead of failing every cycle', async () => {
    await signIn('swapped-a');
    await signIn('swapped-b');
    const other = await user('swapped-b');
    await dynamo.send(
      new UpdateItemCommand({
        TableName: stack.aws.tableName,
        Key: { pk: { S: 'USER#swapped-a' } },
        UpdateExpression: 'SET refreshToken = :copied',
        ExpressionAttributeValues: { ':copied': { B: other.refreshToken! } },
      }),
    );
    stack.google.clearRequests();

    expect((await worker(refreshEvent(new Date().toISOString(), ['swapped-a']))).batchItemFailures).toEqual([]);
    expect(await user('swapped-a')).toMatchObject({ status: 'revoked', revokedReason: 'undecryptable_token' });
    expect(googleRequests().filter((entry) => entry.endpoint === 'token')).toEqual([]);
  });

  it('hands back only the message of the user Google keeps failing for, after a bounded number of tries', async () => {
    const [failing, neighbour, other] = ['flaky-0', 'flaky-1', 'flaky-2'];
    for (const sub of [failing, neighbour, other]) await signIn(sub);
    stack.google.injectFault({ endpoint: 'token', kind: 500, count: 100, sub: failing });
    stack.google.clearRequests();
    const cycle = new Date().toISOString();

    const response = await worker(refreshEvent(cycle, [failing, neighbour], [other]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(refreshGrants(googleRequests(), failing)).toHaveLength(MAX_ATTEMPTS);
    expect(await user(failing)).toMatchObject({ status: 'active', refreshFailures: 1 });
    expect((await user(neighbour)).lastRefreshAt).toBeDefined();
    expect((await user(other)).lastRefreshAt).toBeDefined();

    // SQS redelivers the message once Google is back: only the failed user is refreshed again.
    stack.google.clearFaults();
    stack.google.clearRequests();
    expect((await worker(refreshEvent(cycle, [failing, neighbour]))).batchItemFailures).toEqual([]);
    const log = googleRequests();
    expect(refreshGrants(log, failing)).toHaveLength(1);
    expect(refreshGrants(log, neighbour)).toHaveLength(0);
    expect(await user(failing)).toMatchObject({ refreshFailures: 0 });
  });

  it('refreshes each user once when two workers get the same users at the same time', async () => {
    const users = subs('overlap', 20);
    for (const sub of users) await signIn(sub);
    stack.google.clearRequests();
    const cycle = new Date().toISOString();

    const responses = await Promise.all([
      worker(refreshEvent(cycle, users.slice(0, 10), users.slice(10))),
      worker(refreshEvent(cycle, users)),
    ]);
    // A user whose lease the other run held is not skipped: its message comes back...
    const handedBack = responses.flatMap((response) => response.batchItemFailures);
    // ...and on redelivery, the users the other run refreshed meanwhile are not refreshed again.
    expect((await worker(refreshEvent(cycle, users.slice(0, 10), users.slice(10)))).batchItemFailures).toEqual([]);
    expect((await worker(refreshEvent(cycle, users))).batchItemFailures).toEqual([]);
    expect(handedBack.length).toBeGreaterThan(0);
    const log = googleRequests();
    for (const sub of users) expect(refreshGrants(log, sub)).toHaveLength(1);
    for (const sub of users) expect((await user(sub)).leaseOwner).toBeUndefined();
  });

  it('stores a refresh token Google rotated: it decrypts, replaces the old one and keeps working', async () => {
    await signIn('rotated');
    const before = await user('rotated');
    const cipher = cipherOf(stack);
    const oldToken = await cipher.decrypt(before.refreshToken!, 'rotated');
    stack.google.rotateRefreshTokenOnNextRefresh('rotated');

    expect((await worker(refreshEvent(new Date().toISOString(), ['rotated']))).batchItemFailures).toEqual([]);
    const after = await user('rotated');
    const newToken = await cipher.decrypt(after.refreshToken!, 'rotated');
    expect(newToken).not.toBe(oldToken);
    expect(stack.google.issuedSecrets()).toContain(newToken);
    expect(after.tokenVersion).toBe(before.tokenVersion + 1);
    expect(after.tokenHash).toBe(riscTokenHash(newToken));
    expect(after.status).toBe('active');

    // The next cycle refreshes with the new token (the old one is dead at Google).
    stack.google.clearRequests();
    expect(
      (await worker(refreshEvent(new Date(Date.now() + 1000).toISOString(), ['rotated']))).batchItemFailures,
    ).toEqual([]);
    expect(refreshGrants(googleRequests(), 'rotated').map((entry) => entry.status)).toEqual([200]);
    expect((await user('rotated')).status).toBe('active');
  });

  it('skips and reports a job whose scopes the user did not grant', async () => {
    await signIn('no-appdata', ['openid', 'email', 'profile']);
    stack.google.clearRequests();

    expect((await worker(refreshEvent(new Date().toISOString(), ['no-appdata']))).batchItemFailures).toEqual([]);
    const record = await user('no-appdata');
    expect(record.grantedScopes).not.toContain(DRIVE_APPDATA);
    expect(record.jobs?.['appdata-summary']).toMatchObject({ status: 'skipped', reason: 'missing_scopes' });
    expect(record.lastRefreshAt).toBeDefined();
    expect(googleRequests().filter((entry) => entry.endpoint === 'drive')).toEqual([]);
  });

  it('checkpoints unfinished scan segments as scan messages that the worker continues', async () => {
    const users = subs('paged', 40);
    for (const sub of users) await signIn(sub);
    await takeAll();
    const outOfTime = { getRemainingTimeInMillis: () => 0 };
    const cycle = new Date().toISOString();

    const dispatched = await dispatch({ time: cycle }, outOfTime);
    expect(dispatched.checkpointed).toBeGreaterThan(0);
    // Still out of time: every scan message moves its segment on by one page and checkpoints again.
    let scans = 0;
    for (;;) {
      const messages = await takeAll();
      const scanMessages = messages.filter((message) => JSON.parse(message.Body!).kind === 'scan');
      const refreshMessages = messages.filter((message) => JSON.parse(message.Body!).kind === 'refresh');
      for (let i = 0; i < refreshMessages.length; i += 10) {
        expect((await worker(eventOf(refreshMessages.slice(i, i + 10)))).batchItemFailures).toEqual([]);
      }
      if (!scanMessages.length) break;
      scans += scanMessages.length;
      expect((await worker(eventOf(scanMessages), outOfTime)).batchItemFailures).toEqual([]);
    }
    expect(scans).toBeGreaterThan(dispatched.checkpointed);
    for (const sub of users)
      expect(Date.parse((await user(sub)).lastRefreshAt!)).toBeGreaterThanOrEqual(Date.parse(cycle));
  }, 60_000);

  it('retries a queued revocation of a disconnected user at Google', async () => {
    await signIn('gone');
    const { refreshToken } = await user('gone');
    await store.markDisconnected('gone', new Date());
    const message: RevokeTokenMessage = {
      kind: 'revoke',
      userId: 'gone',
      ciphertext: Buffer.from(refreshToken!).toString('base64'),
      attempt: 1,
    };
    const event = eventOf([{ MessageId: 'revoke-1', ReceiptHandle: 'rh', Body: JSON.stringify(message) }]);

    // Google still down: the retry is queued again, later, and this delivery is done.
    stack.google.injectFault({ endpoint: 'revoke', kind: 503, count: 1 });
    expect((await worker(event)).batchItemFailures).toEqual([]);
    expect(stack.google.tokenState('gone').refreshTokenActive).toBe(true);
    const queued = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
      }),
    );
    expect(queued.Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');

    expect((await worker(event)).batchItemFailures).toEqual([]);
    expect(stack.google.tokenState('gone').refreshTokenActive).toBe(false);
  });

  it('drops an unreadable message instead of retrying it forever', async () => {
    const [record] = toLambdaRecords(
      [{ MessageId: 'junk', ReceiptHandle: 'rh', Body: '{"kind":"nonsense"' }],
      stack.queueUrl,
    );
    expect(await worker({ Records: [record!] })).toEqual({ batchItemFailures: [] });
  });

  it('never writes a token or code to a log line', () => {
    const text = logs.text();
    for (const secret of stack.google.issuedSecrets()) expect(text).not.toContain(secret);
  });
});
