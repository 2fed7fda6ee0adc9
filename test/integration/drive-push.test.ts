/**
 * Drive push end to end: the worker opens a watch channel per user at the Google emulator,
 * the emulator POSTs Google's notifications to the real `POST /drive/notifications`
 * handler behind the local HTTP API, which queues an early run of that user on the refresh
 * queue; the real worker then reports the change. Forged notifications change nothing.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { DriveChangesBatch } from '../../lib/jobs/drive-changes';
import { newChannelToken } from '../../lib/jobs/drive-push';
import type { RefreshQueueMessage } from '../../lib/refresh/messages';
import type { DynamoJobStateStore } from '../../lib/store/dynamodb/job-state';
import type { EventBridgeEmulator } from '../../local/eventbridge-emulator';
import type { HttpApi, Routes } from '../../local/http-api';
import { jobStatesOf, refreshEvent, startEventBus, type WorkerHandler } from '../support/drive-jobs';
import { captureOutput, signIn, type LogCapture } from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let bus: EventBridgeEmulator;
let api: HttpApi;
let logs: LogCapture;
let worker: WorkerHandler;
let states: DynamoJobStateStore;
let sqs: SQSClient;
let toLambdaRecords: typeof import('../../local/refresh-cycle').toLambdaRecords;
const routes: Routes = {};

beforeAll(async () => {
  logs = captureOutput();
  stack = await startTestStack();
  bus = await startEventBus();
  // The API listens first: its address is the push address the worker gives Google.
  api = await stack.serve(routes);
  Object.assign(process.env, {
    REFRESH_JOBS: 'drive-changes',
    DRIVE_PUSH_ADDRESS: `${api.url}/drive/notifications`,
    DRIVE_PUSH_COALESCE_SECONDS: '1',
    GOOGLE_QPS: '1000',
    REFRESH_RETRY_BASE_MS: '5',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  routes['POST /authcode'] = (await import('../../functions/exchange')).handler;
  routes['POST /disconnect'] = (await import('../../functions/disconnect')).handler;
  routes['POST /drive/notifications'] = (await import('../../functions/drive-notifications')).handler;
  worker = (await import('../../functions/refresh-worker')).handler;
  toLambdaRecords = (await import('../../local/refresh-cycle')).toLambdaRecords;
  states = jobStatesOf(stack);
  sqs = new SQSClient({});
}, 30_000);

afterAll(async () => {
  logs.restore();
  for (const name of ['REFRESH_JOBS', 'DRIVE_PUSH_ADDRESS', 'DRIVE_PUSH_COALESCE_SECONDS']) delete process.env[name];
  sqs?.destroy();
  await bus?.close();
  await stack?.close();
});

beforeEach(() => bus.clearEvents());

async function run(...subs: string[]): Promise<void> {
  expect((await worker(refreshEvent(...subs))).batchItemFailures).toEqual([]);
}

/**
 * Everything that reaches the refresh queue within `waitSeconds` (early runs are delayed by
 * the 1 s coalescing window), taken off it.
 */
async function queued(waitSeconds = 3): Promise<Message[]> {
  await stack.google.pushIdle();
  const taken: Message[] = [];
  for (let wait = waitSeconds; ; wait = 0) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }),
    );
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
const channelsOf = (sub: string) => stack.google.driveChannels().filter((channel) => channel.owner === sub);
const deliveriesTo = (channelId: string) =>
  stack.google.pushDeliveries().filter((delivery) => delivery.channelId === channelId);

async function notify(headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${api.url}/drive/notifications`, { method: 'POST', headers });
  await response.arrayBuffer();
  return response.status;
}

describe('Drive push', () => {
  it('opens one watch channel per user on the first run; the sync message queues nothing', async () => {
    await signIn(stack, api, 'push-first');
    await run('push-first');

    const [channel, ...others] = channelsOf('push-first');
    expect(others).toEqual([]);
    expect(channel).toMatchObject({ spaces: ['appDataFolder'], address: `${api.url}/drive/notifications` });
    expect(await queued(2)).toEqual([]);
    expect(deliveriesTo(channel!.id)).toEqual([expect.objectContaining({ state: 'sync', status: 200 })]);
    // The state keeps the channel, with only a hash of its token.
    const state = await states.load('push-first', 'drive-changes');
    expect(state?.channel).toEqual({
      id: channel!.id,
      resourceId: channel!.resourceId,
      tokenHash: expect.any(String),
      expiresAt: channel!.expirationMs,
    });
  });

  it('runs only the user whose app data changed, once per burst, and publishes the changes', async () => {
    await signIn(stack, api, 'push-burst');
    await signIn(stack, api, 'push-quiet');
    await run('push-burst', 'push-quiet');
    await queued(0);

    const files = Array.from({ length: 5 }, (_, i) => stack.google.seedDriveFile('push-burst', { name: `f${i}.json` }));

    const messages = await queued();
    expect(bodies(messages)).toEqual([
      { kind: 'refresh', cycle: expect.any(String), users: ['push-burst'], trigger: 'drive-push' },
    ]);
    const [channel] = channelsOf('push-burst');
    expect(deliveriesTo(channel!.id).filter((delivery) => delivery.state === 'change')).toHaveLength(5);
    expect(deliveriesTo(channel!.id).every((delivery) => delivery.status === 200)).toBe(true);

    const event: SQSEvent = { Records: toLambdaRecords(messages, stack.queueUrl) };
    expect((await worker(event)).batchItemFailures).toEqual([]);
    const published = bus
      .events()
      .filter((e) => e.detailType === 'Drive Changes')
      .map((e) => e.detail as DriveChangesBatch);
    expect(published).toEqual([
      {
        userId: 'push-burst',
        changes: files.map((file) => expect.objectContaining({ fileId: file.id })),
        at: expect.any(String),
      },
    ]);
  });

  it('acknowledges forged or stale notifications without ever queueing a run', async () => {
    await signIn(stack, api, 'push-target');
    await run('push-target');
    const [channel] = channelsOf('push-target');
    const genuine = {
      'x-goog-channel-id': channel!.id,
      'x-goog-resource-id': channel!.resourceId,
      'x-goog-resource-state': 'change',
      'x-goog-message-number': '7',
    };
    const statuses = [
      // A well-formed token for this user, but not the channel's secret.
      await notify({ ...genuine, 'x-goog-channel-token': newChannelToken('push-target').token }),
      // A channel nobody opened.
      await notify({
        ...genuine,
        'x-goog-channel-id': 'no-such-channel',
        'x-goog-channel-token': newChannelToken('push-target').token,
      }),
      // A user with no job state at all.
      await notify({ ...genuine, 'x-goog-channel-token': newChannelToken('nobody').token }),
      await notify({ ...genuine, 'x-goog-channel-token': 'garbage' }),
      await notify({ ...genuine }),
      await notify({}),
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 200, 400]);
    expect(await queued(2)).toEqual([]);
  });

  it('renews a channel about to expire: the new one is open before the old one is stopped', async () => {
    await signIn(stack, api, 'push-renew');
    await run('push-renew');
    const [old] = channelsOf('push-renew');
    const state = (await states.load('push-renew', 'drive-changes'))!;
    // As if the channel had been opened almost a week ago.
    await states.save('push-renew', 'drive-changes', {
      ...state,
      channel: { ...(state.channel as object), expiresAt: Date.now() + 3600_000 },
    });

    await run('push-renew');

    const channels = channelsOf('push-renew');
    expect(channels).toHaveLength(1);
    expect(channels[0]!.id).not.toBe(old!.id);
    expect((await states.load('push-renew', 'drive-changes'))?.channel).toMatchObject({ id: channels[0]!.id });
    expect(
      stack.google.requests().filter((e) => e.sub === 'push-renew' && e.path === '/drive/v3/channels/stop'),
    ).toEqual([expect.objectContaining({ status: 204 })]);
  });

  it('stops the channel and forgets the state on disconnect', async () => {
    await signIn(stack, api, 'push-leaving');
    await run('push-leaving');
    expect(channelsOf('push-leaving')).toHaveLength(1);

    const idToken = stack.google.signIdToken({ sub: 'push-leaving' });
    const response = await fetch(`${api.url}/disconnect`, {
      method: 'POST',
      headers: { 'x-requested-with': 'test', authorization: `Bearer ${idToken}` },
    });
    expect(response.status).toBe(200);

    expect(channelsOf('push-leaving')).toEqual([]);
    expect(await states.load('push-leaving', 'drive-changes')).toBeUndefined();
    expect(stack.google.tokenState('push-leaving').refreshTokenActive).toBe(false);
  });

  it('forgets a revoked user: the channel Google keeps sending on queues nothing', async () => {
    await signIn(stack, api, 'push-revoked');
    await run('push-revoked');
    stack.google.revokeUser('push-revoked');
    await run('push-revoked');
    expect(await states.load('push-revoked', 'drive-changes')).toBeUndefined();

    stack.google.seedDriveFile('push-revoked', { name: 'late.json' });
    expect(await queued(2)).toEqual([]);
    const [channel] = channelsOf('push-revoked');
    expect(deliveriesTo(channel!.id).at(-1)).toMatchObject({ state: 'change', status: 200 });
  });
});
