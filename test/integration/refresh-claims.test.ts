/**
 * The refresh at scale, against the emulators (DynamoDB, KMS, SQS and Google over HTTP):
 * cycle messages claimed as a whole, no user write when nothing changed, a cycle that is
 * still running when the schedule fires again, redelivered messages, a worker that dies
 * mid-batch, and the pace of Google requests. The real dispatch and worker handlers run
 * where wall-clock time does not matter; where a lease must expire, the same classes are
 * built over the same adapters with a clock the test moves.
 */
import { GrantRefresher } from '../../lib/access-tokens';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoClient } from '../../lib/aws/clients/dynamodb';
import type { GoogleGateway } from '../../lib/google/gateway';
import { driveClientFactory } from '../../lib/jobs/drive';
import { selectJobs } from '../../lib/jobs/registry';
import { batchId, type DispatchResult } from '../../lib/refresh/dispatch';
import { TokenBucket } from '../../lib/refresh/rate-limiter';
import { UserRefresher } from '../../lib/refresh/user-refresh';
import { RefreshWorker, type QueueRecord } from '../../lib/refresh/worker';
import { refreshLedger, userStore } from '../../lib/runtime/aws';
import { tokenCipher } from '../../lib/runtime/cipher';
import { googleServices } from '../../lib/runtime/google';
import { cycleFinished } from '../../lib/store/refresh-ledger';
import type { RequestLogEntry } from '../../local/google-emulator';
import type { HttpApi } from '../../local/http-api';
import { captureOutput, forgetRefreshCycle, signIn as signInAs, type LogCapture } from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(60_000);

type Handler<E, R> = (event: E, context?: { getRemainingTimeInMillis?: () => number }) => Promise<R>;

let stack: TestStack;
let api: HttpApi;
let logs: LogCapture;
let sqs: SQSClient;
let dispatch: Handler<{ time?: string }, DispatchResult>;
let worker: Handler<SQSEvent, SQSBatchResponse>;
let toLambdaRecords: typeof import('../../local/refresh-cycle').toLambdaRecords;
/** Every DynamoDB write the functions make, by item key prefix. */
const writes: { command: string; key: string }[] = [];

beforeAll(async () => {
  logs = captureOutput();
  stack = await startTestStack();
  Object.assign(process.env, {
    GOOGLE_QPS: '1000',
    REFRESH_RETRY_BASE_MS: '5',
    DISPATCH_USERS_PER_MESSAGE: '10',
  });
  const exchange = await import('../../functions/exchange');
  dispatch = (await import('../../functions/refresh-dispatch')).handler;
  worker = (await import('../../functions/refresh-worker')).handler;
  toLambdaRecords = (await import('../../local/refresh-cycle')).toLambdaRecords;
  api = await stack.serve({ 'POST /authcode': exchange.handler });
  sqs = new SQSClient({});
  // Observes (never changes) what the functions' shared DynamoDB client sends.
  dynamoClient().middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { pk?: { S?: string } } };
      const key = input.Key?.pk?.S ?? '';
      if (['UpdateItemCommand', 'PutItemCommand', 'DeleteItemCommand'].includes(context.commandName ?? ''))
        writes.push({ command: context.commandName!, key: key.split('#')[0]! });
      return next(args);
    },
    { step: 'initialize', name: 'observeWrites' },
  );
}, 30_000);

afterAll(async () => {
  logs.restore();
  sqs?.destroy();
  await stack?.close();
});

beforeEach(async () => {
  stack.google.clearFaults();
  await takeAll();
  await forgetRefreshCycle(stack);
});

const subs = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

async function signIn(...users: string[]): Promise<void> {
  for (const sub of users) await signInAs(stack, api, sub, { form: true });
}

const receiveBatch = () =>
  sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: stack.queueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
    }),
  );

async function deleteMessages(messages: Message[]): Promise<void> {
  if (!messages.length) return;
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: stack.queueUrl,
      Entries: messages.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle! })),
    }),
  );
}

/** Everything on the queue, taken off it unprocessed. */
async function takeAll(): Promise<Message[]> {
  const taken: Message[] = [];
  for (;;) {
    const out = await receiveBatch();
    if (!out.Messages?.length) return taken;
    taken.push(...out.Messages);
    await deleteMessages(out.Messages);
  }
}

/** Runs the worker handler over the queue until it is empty, as Lambda's event source would. */
async function drainQueue(): Promise<string[]> {
  const failures: string[] = [];
  for (;;) {
    const out = await receiveBatch();
    if (!out.Messages?.length) return failures;
    const { batchItemFailures } = await worker({ Records: toLambdaRecords(out.Messages, stack.queueUrl) });
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    failures.push(...failed);
    await deleteMessages(out.Messages.filter((message) => !failed.has(message.MessageId!)));
  }
}

const refreshGrants = (sub?: string): RequestLogEntry[] =>
  stack.google
    .requests()
    .filter(
      (entry) => entry.endpoint === 'token' && entry.grantType === 'refresh_token' && (!sub || entry.sub === sub),
    );

/** A hand-controlled clock for leases and the rate limiter. */
function manualClock(start = Date.now()) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    /** Records the wait and returns at once: the test asserts the schedule, not the wall clock. */
    sleep: (ms: number) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    sleeps,
  };
}

/**
 * The worker the handler runs, built from the same adapters (the emulators), but with the
 * test's clock, its own rate limiter and, optionally, a Google gateway the test controls.
 */
async function workerWith(options: {
  clock: ReturnType<typeof manualClock>;
  bucket?: TokenBucket;
  oauth?: Pick<GoogleGateway, 'refreshAccessToken'>;
  leaseMs?: number;
}): Promise<RefreshWorker> {
  const google = await googleServices();
  const bucket =
    options.bucket ?? new TokenBucket({ ratePerSecond: 1000, now: options.clock.now, sleep: options.clock.sleep });
  const leaseMs = options.leaseMs ?? 300_000;
  const users = new UserRefresher({
    store: userStore(),
    grants: new GrantRefresher({
      store: userStore(),
      cipher: tokenCipher(),
      oauth: options.oauth ?? google.oauth,
      beforeGoogleRequest: () => bucket.take(),
      now: options.clock.now,
    }),
    jobs: selectJobs(['appdata-summary']),
    driveFor: driveClientFactory({ beforeRequest: () => bucket.take(), rootUrl: google.endpoints.apiRootUrl }),
    leaseMs,
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    onGoogleThrottled: () => bucket.slowDown(),
    now: options.clock.now,
    sleep: options.clock.sleep,
  });
  return new RefreshWorker({
    users,
    dispatcher: { continueSegment: () => Promise.reject(new Error('no scan messages in these tests')) },
    retryRevocation: () => Promise.resolve(),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'refresh-claims-test' }),
    userConcurrency: 4,
    claims: { ledger: refreshLedger(), store: userStore(), leaseMs, maxReceives: 5 },
    now: options.clock.now,
  });
}

/**
 * One cycle message of these users, as the dispatcher writes it and SQS delivers it, in a
 * cycle the ledger has started (the table also holds other tests' users: a real dispatch
 * would enqueue them too).
 */
async function cycleMessage(users: string[]): Promise<QueueRecord[]> {
  const cycle = new Date().toISOString();
  await refreshLedger().startCycle({ cycle, nowMs: Date.now(), timeoutMs: 3_600_000, totalSegments: 1 });
  await refreshLedger().recordDispatch(cycle, { messages: 1, segmentsDone: 1 });
  const body = JSON.stringify({ kind: 'refresh', cycle, users, batch: batchId(users) });
  return [{ messageId: `m-${batchId(users)}`, body, attributes: { ApproximateReceiveCount: '1' } }];
}

const redelivered = (records: QueueRecord[], receiveCount: number): QueueRecord[] =>
  records.map((record) => ({ ...record, attributes: { ApproximateReceiveCount: String(receiveCount) } }));

describe('refresh cycles at scale', () => {
  it('writes no user item in a cycle that changes nothing: three small ledger writes per message', async () => {
    const users = subs('quiet', 25);
    await signIn(...users);
    await dispatch({});
    expect(await drainQueue()).toEqual([]);
    stack.google.clearRequests();
    writes.length = 0;

    const second = await dispatch({});
    expect(second.users).toBe(25);
    expect(await drainQueue()).toEqual([]);

    for (const sub of users) expect(refreshGrants(sub)).toHaveLength(1);
    const byItem = (prefix: string) => writes.filter((write) => write.key === prefix).length;
    expect(byItem('USER')).toBe(0);
    // Claim and finish per message; the cycle item: start, one count per scan page, one per finished message.
    expect(byItem('REFRESHBATCH')).toBe(2 * second.messages);
    expect(byItem('REFRESHCYCLE')).toBeLessThanOrEqual(1 + 4 + second.messages);
    expect(writes).toHaveLength(byItem('REFRESHBATCH') + byItem('REFRESHCYCLE'));
  });

  it('still writes a user whose job result changed', async () => {
    await signIn('changed-0', 'changed-1');
    await dispatch({});
    expect(await drainQueue()).toEqual([]);
    stack.google.seedDriveFile('changed-1', { name: 'new.json', size: 42, modifiedTime: '2026-06-01T00:00:00.000Z' });
    writes.length = 0;

    await dispatch({});
    expect(await drainQueue()).toEqual([]);
    expect(writes.filter((write) => write.key === 'USER')).toHaveLength(1);
    const record = await userStore().getUser('changed-1');
    expect(record?.jobs?.['appdata-summary']?.detail).toMatchObject({ fileCount: 1, totalBytes: 42 });
  });

  it('skips a schedule firing while the previous cycle still runs, counts it, and starts again once it finished', async () => {
    await signIn(...subs('overlap', 12));
    const first = await dispatch({});
    expect(first.overlapped).toBeUndefined();
    expect(first.users).toBeGreaterThanOrEqual(12);
    const before = logs.text().length;

    const second = await dispatch({});
    expect(second).toMatchObject({ users: 0, messages: 0 });
    expect(second.overlapped?.runningCycle).toBeDefined();
    // The metric the stack's alarm watches, as Powertools publishes it (embedded metric format).
    expect(logs.text().slice(before)).toMatch(/"RefreshCycleOverlaps":1/);

    // Only the first cycle's messages are on the queue: nobody was enqueued twice.
    expect(await drainQueue()).toEqual([]);
    for (const sub of subs('overlap', 12)) expect(refreshGrants(sub).length).toBeLessThanOrEqual(1);
    const state = await refreshLedger().currentCycle();
    expect(state && cycleFinished(state)).toBe(true);

    const third = await dispatch({});
    expect(third.overlapped).toBeUndefined();
    expect(third.users).toBe(first.users);
    expect(await drainQueue()).toEqual([]);
  });

  it('acknowledges a redelivered message that was already done without refreshing anyone again', async () => {
    const users = subs('redelivered', 10);
    await signIn(...users);
    const records = await cycleMessage(users);
    const clock = manualClock();
    const refreshWorker = await workerWith({ clock });
    stack.google.clearRequests();

    expect((await refreshWorker.processBatch(records)).batchItemFailures).toEqual([]);
    expect(refreshGrants()).toHaveLength(users.length);

    // SQS delivers the same messages again (at-least-once): nothing is refreshed twice.
    stack.google.clearRequests();
    const again = await refreshWorker.processBatch(redelivered(records, 2));
    expect(again.batchItemFailures).toEqual([]);
    expect(refreshGrants()).toHaveLength(0);
  });

  it('hands a crashed worker’s message back until its claim expires, then refreshes every user once, none at once', async () => {
    const users = subs('crashed', 8);
    await signIn(...users);
    const records = await cycleMessage(users);
    const clock = manualClock();
    const google = await googleServices();

    // Worker A dies after three users: its later Google calls never return (a frozen process).
    let allowed = 3;
    const inFlight = new Set<string>();
    let concurrent = 0;
    const tracked = (userIdOf: (token: string) => Promise<string>) => ({
      refreshAccessToken: async (token: string) => {
        const id = await userIdOf(token);
        if (inFlight.has(id)) concurrent += 1;
        inFlight.add(id);
        try {
          return await google.oauth.refreshAccessToken(token);
        } finally {
          inFlight.delete(id);
        }
      },
    });
    const tokenOwner = async (token: string) => {
      for (const sub of users) {
        const record = await userStore().getUser(sub);
        if (record?.refreshToken && (await tokenCipher().decrypt(record.refreshToken, sub)) === token) return sub;
      }
      return 'unknown';
    };
    const dying = tracked(tokenOwner);
    const workerA = await workerWith({
      clock,
      oauth: {
        refreshAccessToken: (token) => (allowed-- > 0 ? dying.refreshAccessToken(token) : new Promise(() => undefined)),
      },
    });
    stack.google.clearRequests();
    void workerA.processBatch(records);
    await waitFor(() => refreshGrants().length === 3 && allowed < 0);

    // SQS redelivers after the visibility timeout; while A's claim lasts, the message goes back.
    const workerB = await workerWith({ clock, oauth: tracked(tokenOwner) });
    const held = await workerB.processBatch(redelivered(records, 2));
    expect(held.batchItemFailures).toHaveLength(1);
    expect(held.summary.held).toBe(1);

    // Once the claim has expired, the redelivery takes the message over and processes all its users.
    clock.advance(300_001);
    const resumed = await workerB.processBatch(redelivered(records, 3));
    expect(resumed.batchItemFailures).toEqual([]);
    // The three users A finished are not refreshed again: their record says so.
    for (const sub of users) expect(refreshGrants(sub)).toHaveLength(1);
    expect(concurrent).toBe(0);
    const state = await refreshLedger().currentCycle();
    expect(state && cycleFinished(state)).toBe(true);
  });

  it('paces Google requests at the environment’s share and slows down when Google answers 429', async () => {
    const users = subs('paced', 6);
    await signIn(...users);
    const records = await cycleMessage(users);
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 1, now: clock.now, sleep: clock.sleep });
    const refreshWorker = await workerWith({ clock, bucket });
    stack.google.injectFault({ endpoint: 'token', kind: 429, count: 1 });
    stack.google.clearRequests();

    expect((await refreshWorker.processBatch(records)).batchItemFailures).toEqual([]);
    const requests = stack.google.requests().length;
    // 6 grants + 1 answered 429 + 6 Drive listings, each waited for at 50 ms per request (the clock stands still).
    expect(requests).toBe(13);
    const reservations = [...clock.sleeps].filter((ms) => ms >= 40).sort((a, b) => a - b);
    expect(reservations.length).toBeGreaterThanOrEqual(requests - 1);
    expect(reservations.at(-1)).toBeGreaterThanOrEqual((requests - 1) * 50);
    // The 429 halved this environment's rate.
    expect(bucket.currentRatePerSecond).toBe(10);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
