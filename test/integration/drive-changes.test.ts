/**
 * The `drive-changes` job end to end, without push: users signed in through the real
 * exchange, the real worker handler, Drive changes from the Google emulator, job state in
 * DynamoDB, `Drive Changes` events on the EventBridge stand-in.
 */
import type { DriveChangesBatch } from '../../lib/jobs/drive-changes';
import type { DynamoJobStateStore } from '../../lib/store/dynamodb/job-state';
import type { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { EventBridgeEmulator } from '../../local/eventbridge-emulator';
import type { HttpApi } from '../../local/http-api';
import {
  countJobStateWrites,
  driveRequestsOf,
  jobStatesOf,
  refreshEvent,
  startEventBus,
  type WorkerHandler,
} from '../support/drive-jobs';
import { captureOutput, signIn, userStoreOf, type LogCapture } from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let bus: EventBridgeEmulator;
let api: HttpApi;
let logs: LogCapture;
let worker: WorkerHandler;
let states: DynamoJobStateStore;
let users: DynamoUserStore;
let jobStateWrites: ReturnType<typeof countJobStateWrites>;

beforeAll(async () => {
  logs = captureOutput();
  stack = await startTestStack();
  bus = await startEventBus();
  Object.assign(process.env, {
    REFRESH_JOBS: 'drive-changes',
    GOOGLE_QPS: '1000',
    REFRESH_RETRY_BASE_MS: '5',
    EVENT_BUS_NAME: 'company-bus',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  delete process.env.DRIVE_PUSH_ADDRESS;
  const exchange = await import('../../functions/exchange');
  const disconnect = await import('../../functions/disconnect');
  worker = (await import('../../functions/refresh-worker')).handler;
  const { dynamoClient } = await import('../../lib/aws/clients/dynamodb');
  jobStateWrites = countJobStateWrites(dynamoClient());
  api = await stack.serve({ 'POST /authcode': exchange.handler, 'POST /disconnect': disconnect.handler });
  states = jobStatesOf(stack);
  users = userStoreOf(stack);
}, 30_000);

afterAll(async () => {
  logs.restore();
  delete process.env.REFRESH_JOBS;
  delete process.env.EVENT_BUS_NAME;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  await bus?.close();
  await stack?.close();
});

beforeEach(() => {
  stack.google.clearFaults();
  bus.clearEvents();
});

async function run(...subs: string[]): Promise<void> {
  expect((await worker(refreshEvent(...subs))).batchItemFailures).toEqual([]);
}

const resultOf = async (sub: string) => (await users.getUser(sub))?.jobs?.['drive-changes'];
const changeEvents = () => bus.events().filter((event) => event.detailType === 'Drive Changes');
const seed = (sub: string, name: string) => stack.google.seedDriveFile(sub, { name, content: 'x' });

describe('drive-changes', () => {
  it('stores the start page token on the first run, and reports nothing', async () => {
    await signIn(stack, api, 'dc-first');
    seed('dc-first', 'before.json');
    stack.google.clearRequests();

    await run('dc-first');

    expect((await states.load('dc-first', 'drive-changes'))?.pageToken).toEqual(expect.any(String));
    expect(driveRequestsOf(stack, 'dc-first').map((entry) => entry.path)).toEqual(['/drive/v3/changes/startPageToken']);
    expect(await resultOf('dc-first')).toMatchObject({ status: 'ok', detail: { changes: 0, started: 'first_run' } });
    expect(changeEvents()).toEqual([]);
  });

  it('reports exactly the file added since the last run, in one event', async () => {
    await signIn(stack, api, 'dc-add');
    await run('dc-add');
    const file = seed('dc-add', 'notes.json');
    seed('other-user', 'not-mine.json');

    await run('dc-add');

    expect(await resultOf('dc-add')).toMatchObject({ status: 'ok', detail: { changes: 1 } });
    const events = changeEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'google-offline-access', eventBusName: 'company-bus' });
    const detail = events[0]!.detail as DriveChangesBatch;
    expect(detail).toEqual({
      userId: 'dc-add',
      changes: [{ fileId: file.id, changeType: 'file', removed: false, time: expect.any(String) }],
      at: expect.any(String),
    });
    // No token of any kind travels with the event.
    const text = JSON.stringify(events);
    for (const secret of stack.google.issuedSecrets()) expect(text).not.toContain(secret);

    bus.clearEvents();
    await run('dc-add');
    expect(changeEvents()).toEqual([]);
  });

  it('reports removals and follows every page to the new start token', async () => {
    await signIn(stack, api, 'dc-pages');
    const doomed = seed('dc-pages', 'doomed.json');
    await run('dc-pages');
    for (let i = 0; i < 1200; i++) seed('dc-pages', `f${i}.json`);
    stack.google.deleteDriveFile('dc-pages', doomed.id);
    stack.google.clearRequests();

    await run('dc-pages');

    expect(driveRequestsOf(stack, 'dc-pages').filter((entry) => entry.path === '/drive/v3/changes')).toHaveLength(2);
    expect(await resultOf('dc-pages')).toMatchObject({ detail: { changes: 1201 } });
    const changes = changeEvents().flatMap((event) => (event.detail as DriveChangesBatch).changes);
    expect(changes).toHaveLength(1201);
    expect(changes.filter((change) => change.removed)).toEqual([expect.objectContaining({ fileId: doomed.id })]);
  });

  it('costs one Drive request and no job state write when nothing changed', async () => {
    await signIn(stack, api, 'dc-idle');
    await run('dc-idle');
    stack.google.clearRequests();
    jobStateWrites.reset();

    await run('dc-idle');

    expect(driveRequestsOf(stack, 'dc-idle').map((entry) => `${entry.path} ${entry.status}`)).toEqual([
      '/drive/v3/changes 200',
    ]);
    expect(jobStateWrites.count()).toBe(0);
    expect(changeEvents()).toEqual([]);
  });

  it('starts over from a fresh start token when Drive rejects the stored one, and says so', async () => {
    await signIn(stack, api, 'dc-expired');
    await run('dc-expired');
    const before = (await states.load('dc-expired', 'drive-changes'))?.pageToken;
    stack.google.expireDrivePageTokens('dc-expired');

    await run('dc-expired');

    expect(await resultOf('dc-expired')).toMatchObject({
      status: 'ok',
      detail: { changes: 0, started: 'page_token_rejected' },
    });
    expect(logs.text()).toMatch(/rejected the stored page token/);
    const after = (await states.load('dc-expired', 'drive-changes'))?.pageToken;
    expect(after).toEqual(expect.any(String));
    expect(after).not.toBe(before);

    const file = seed('dc-expired', 'after.json');
    await run('dc-expired');
    expect(changeEvents().map((event) => (event.detail as DriveChangesBatch).changes[0]?.fileId)).toEqual([file.id]);
  });

  it('keeps the page token when the event bus fails, so the same changes come again', async () => {
    await signIn(stack, api, 'dc-bus-down');
    await run('dc-bus-down');
    const file = seed('dc-bus-down', 'a.json');
    // Every try of this delivery fails (the worker tries a transient failure 3 times by default).
    bus.failNextEntries(3);

    await worker(refreshEvent('dc-bus-down'));
    expect(await resultOf('dc-bus-down')).toMatchObject({ status: 'failed' });
    expect(changeEvents()).toEqual([]);

    await run('dc-bus-down');
    expect(changeEvents().map((event) => (event.detail as DriveChangesBatch).changes[0]?.fileId)).toEqual([file.id]);
  });

  it('forgets the job state on disconnect and on revocation', async () => {
    await signIn(stack, api, 'dc-leaving');
    await signIn(stack, api, 'dc-revoked');
    await run('dc-leaving', 'dc-revoked');
    expect(await states.load('dc-leaving', 'drive-changes')).toBeDefined();

    const idToken = stack.google.signIdToken({ sub: 'dc-leaving' });
    const response = await fetch(`${api.url}/disconnect`, {
      method: 'POST',
      headers: { 'x-requested-with': 'test', authorization: `Bearer ${idToken}` },
    });
    expect(response.status).toBe(200);
    expect(await states.load('dc-leaving', 'drive-changes')).toBeUndefined();

    stack.google.revokeUser('dc-revoked');
    await run('dc-revoked');
    expect((await users.getUser('dc-revoked'))?.status).toBe('revoked');
    expect(await states.load('dc-revoked', 'drive-changes')).toBeUndefined();
  });
});
