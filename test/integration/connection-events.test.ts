/**
 * Connection status, failure reasons and events, end to end: users sign in, lose and regain
 * their grant through the real handlers over HTTP (exchange, disconnect, RISC) and the real
 * refresh worker against the Google emulator's failure bodies; the table's change stream
 * (the local change feed) feeds the real connection-events handler, which publishes to the
 * EventBridge stand-in. Every test asserts the stored record and the published events.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { connectionStatus } from '../../lib/connection-status';
import { RISC_EVENT_TYPES } from '../../lib/risc/events';
import type { RefreshUsersMessage } from '../../lib/refresh/messages';
import type { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { HttpApi } from '../../local/http-api';
import {
  backdateStoredToken,
  captureOutput,
  connectionEventsOf,
  signIn,
  userStoreOf,
  type ConnectionEventDetail,
  type LogCapture,
} from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const RISC_ISSUER = 'https://accounts.google.com/';
const DAY_S = 24 * 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let stack: TestStack;
let api: HttpApi;
let store: DynamoUserStore;
let logs: LogCapture;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
let connectionEventsHandler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

beforeAll(async () => {
  logs = captureOutput();
  // Before the stack: it loads the connection-events handler, and with it the logger.
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  stack = await startTestStack();
  Object.assign(process.env, { GOOGLE_QPS: '1000', REFRESH_RETRY_BASE_MS: '5' });
  const exchange = await import('../../functions/exchange');
  const disconnect = await import('../../functions/disconnect');
  const risc = await import('../../functions/risc');
  worker = (await import('../../functions/refresh-worker')).handler;
  connectionEventsHandler = (await import('../../functions/connection-events')).handler;
  api = await stack.serve({
    'POST /authcode': exchange.handler,
    'POST /disconnect': disconnect.handler,
    'POST /risc': risc.handler,
  });
  store = userStoreOf(stack);
}, 30_000);

afterAll(async () => {
  logs?.restore();
  await stack?.close();
});

afterEach(() => {
  stack.eventBridge.clearFaults();
  stack.google.clearFaults();
});

/** The scheduled refresh reaches this user: one `refresh` message, as SQS delivers it to the worker. */
async function refreshRuns(sub: string): Promise<void> {
  const body: RefreshUsersMessage = { kind: 'refresh', cycle: new Date().toISOString(), users: [sub] };
  const event = {
    Records: [{ messageId: `m-${sub}`, receiptHandle: 'rh', body: JSON.stringify(body), attributes: {} }],
  } as unknown as SQSEvent;
  expect((await worker(event)).batchItemFailures).toEqual([]);
}

async function disconnects(sub: string): Promise<void> {
  const response = await fetch(`${api.url}/disconnect`, {
    method: 'POST',
    headers: {
      'x-requested-with': 'com.example.app',
      authorization: `Bearer ${stack.google.signIdToken({ sub })}`,
    },
  });
  expect(response.status).toBe(200);
}

async function googleSends(events: Record<string, object>): Promise<void> {
  const token = stack.google.signSecurityEvent({ aud: stack.clientId, events });
  const response = await fetch(`${api.url}/risc`, {
    method: 'POST',
    headers: { 'content-type': 'application/secevent+jwt' },
    body: token,
  });
  expect(response.status).toBe(202);
}

const account = (sub: string) => ({ subject: { subject_type: 'iss-sub', iss: RISC_ISSUER, sub } });

/** Status and reason of the stored record, as the apps are told. */
async function statusOf(sub: string) {
  const { status, reason, offlineAccess } = connectionStatus(await store.getUser(sub), [DRIVE_APPDATA]);
  return { status, reason, offlineAccess };
}

function expectEvent(event: ConnectionEventDetail | undefined, expected: Partial<ConnectionEventDetail>): void {
  expect(event).toMatchObject(expected);
  expect(event?.eventId).toMatch(UUID);
  expect(Number.isNaN(Date.parse(event?.at ?? ''))).toBe(false);
  if (!expected.reason) expect(event).not.toHaveProperty('reason');
}

describe('connection status changes', () => {
  it('a first sign-in with a refresh token makes the user active: one event from not_connected', async () => {
    await signIn(stack, api, 'ev-signin');

    expect(await statusOf('ev-signin')).toEqual({ status: 'active', reason: undefined, offlineAccess: true });
    const events = await connectionEventsOf(stack, 'ev-signin');
    expect(events).toHaveLength(1);
    expectEvent(events[0], { userId: 'ev-signin', status: 'active', previousStatus: 'not_connected' });
    const [published] = stack.eventBridge
      .events()
      .filter((e) => (e.detail as ConnectionEventDetail).userId === 'ev-signin');
    expect(published).toMatchObject({
      source: 'google-offline-access',
      detailType: 'Connection Status Changed',
      eventBusName: 'default',
    });
  });

  it('a sign-in without a refresh token or without a required scope needs a reconnect, with that reason', async () => {
    // The user consented before (the emulator holds the grant), so a plain sign-in brings no refresh token.
    stack.google.authorize({ sub: 'ev-no-token' });
    const { code } = stack.google.authorize({ sub: 'ev-no-token' });
    const response = await fetch(`${api.url}/authcode`, {
      method: 'POST',
      headers: { 'x-requested-with': 'app', 'content-type': 'application/json' },
      body: JSON.stringify({ authCode: code }),
    });
    expect(await response.json()).toMatchObject({ offlineAccess: false, reason: 'no_refresh_token' });
    await signIn(stack, api, 'ev-scopes', { scopes: ['openid', 'email', 'profile'] });

    expect(await statusOf('ev-no-token')).toMatchObject({ status: 'needs_reconnect', reason: 'no_refresh_token' });
    expect(await statusOf('ev-scopes')).toMatchObject({ status: 'needs_reconnect', reason: 'missing_scopes' });
    const [noToken] = await connectionEventsOf(stack, 'ev-no-token');
    expectEvent(noToken, { status: 'needs_reconnect', previousStatus: 'not_connected', reason: 'no_refresh_token' });
    const scopes = await connectionEventsOf(stack, 'ev-scopes');
    expect(scopes).toHaveLength(1);
    expectEvent(scopes[0], { status: 'needs_reconnect', previousStatus: 'not_connected', reason: 'missing_scopes' });
  });

  it.each([
    ['revoked', 'revoked', /^invalid_grant: Token has been expired or revoked\.$/],
    ['invalid_rapt', 'reauth_required', /^invalid_grant\/invalid_rapt: reauth related error \(invalid_rapt\)$/],
    ['admin_policy_enforced', 'admin_policy', /^admin_policy_enforced: Access to your account data is restricted/],
  ] as const)(
    'the refresh worker classifies Google’s %s answer as %s, stores it and publishes it once',
    async (cause, reason, detail) => {
      const sub = `ev-${cause}`;
      await signIn(stack, api, sub);
      expect(stack.google.failRefreshes(sub, cause)).toBe(1);

      await refreshRuns(sub);

      const record = await store.getUser(sub);
      expect(record).toMatchObject({ status: 'revoked', reason });
      expect(record?.revokedReason).toMatch(detail);
      expect(record?.refreshToken).toBeUndefined();
      expect(await statusOf(sub)).toEqual({ status: 'needs_reconnect', reason, offlineAccess: false });
      const events = await connectionEventsOf(stack, sub);
      expect(events.map((e) => [e.previousStatus, e.status, e.reason])).toEqual([
        ['not_connected', 'active', undefined],
        ['active', 'needs_reconnect', reason],
      ]);
      expectEvent(events[1], { userId: sub, status: 'needs_reconnect', previousStatus: 'active', reason });
      // A later cycle does not touch the user again: no more events.
      await refreshRuns(sub);
      expect(await connectionEventsOf(stack, sub)).toHaveLength(2);
    },
  );

  it('diagnoses a Testing-mode expiry: a refresh token refused about 7 days after it was stored', async () => {
    const sub = 'ev-testing';
    await signIn(stack, api, sub);
    stack.google.setPublishingStatus('testing');
    try {
      // A week passes: Google's clock and our record both age the token by 7 days.
      stack.google.advanceClock(7 * DAY_S + 600);
      await backdateStoredToken(stack, sub, 7 * DAY_S + 600);
      const before = logs.text().length;

      await refreshRuns(sub);

      expect(await store.getUser(sub)).toMatchObject({
        status: 'revoked',
        reason: 'testing_mode_expiry',
        revokedReason: 'invalid_grant: Token has been expired or revoked.',
      });
      const events = await connectionEventsOf(stack, sub);
      expect(events).toHaveLength(2);
      expectEvent(events[1], { status: 'needs_reconnect', previousStatus: 'active', reason: 'testing_mode_expiry' });
      const warning = logs
        .text()
        .slice(before)
        .split('\n')
        .find((line) => line.includes('"level":"WARN"') && line.includes('Publish the OAuth consent screen'));
      expect(warning).toBeDefined();
      expect(JSON.parse(warning!)).toMatchObject({ userId: sub, reason: 'testing_mode_expiry' });
      // The alarm's metric: one data point with the reason as dimension.
      expect(logs.text().slice(before)).toMatch(/"reason":"testing_mode_expiry","ConnectionsLost":1/);
    } finally {
      stack.google.setPublishingStatus('production');
    }
  });

  it('a token refused long before 7 days in Testing mode is a plain revocation', async () => {
    const sub = 'ev-young';
    await signIn(stack, api, sub);
    stack.google.failRefreshes(sub, 'revoked');
    await backdateStoredToken(stack, sub, 2 * DAY_S);
    await refreshRuns(sub);
    expect(await store.getUser(sub)).toMatchObject({ status: 'revoked', reason: 'revoked' });
  });

  it.each([
    ['tokens-revoked', 'revoked', RISC_EVENT_TYPES.tokensRevoked],
    ['account-disabled', 'account_disabled', RISC_EVENT_TYPES.accountDisabled],
  ] as const)('RISC %s needs a reconnect with reason %s', async (name, reason, type) => {
    const sub = `ev-risc-${name}`;
    await signIn(stack, api, sub);
    await googleSends({ [type]: { ...account(sub), reason: 'hijacking' } });

    expect(await store.getUser(sub)).toMatchObject({ status: 'revoked', reason });
    const events = await connectionEventsOf(stack, sub);
    expect(events).toHaveLength(2);
    expectEvent(events[1], { status: 'needs_reconnect', previousStatus: 'active', reason });
  });

  it('disconnect → disconnected (user_disconnected); signing in again → active; each change one event', async () => {
    const sub = 'ev-cycle';
    await signIn(stack, api, sub);
    await disconnects(sub);
    expect(await store.getUser(sub)).toMatchObject({ status: 'disconnected', reason: 'user_disconnected' });
    expect(await statusOf(sub)).toEqual({ status: 'disconnected', reason: 'user_disconnected', offlineAccess: false });
    // A second disconnect changes nothing the apps see: no event.
    await disconnects(sub);

    await signIn(stack, api, sub);
    const record = await store.getUser(sub);
    expect(record).toMatchObject({ status: 'active' });
    expect(record).not.toHaveProperty('reason');

    const events = await connectionEventsOf(stack, sub);
    expect(events.map((e) => [e.previousStatus, e.status, e.reason])).toEqual([
      ['not_connected', 'active', undefined],
      ['active', 'disconnected', 'user_disconnected'],
      ['disconnected', 'active', undefined],
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
  });

  it('a user who needed a reconnect is active again after a new sign-in', async () => {
    const sub = 'ev-back';
    await signIn(stack, api, sub);
    stack.google.failRefreshes(sub, 'invalid_rapt');
    await refreshRuns(sub);
    await signIn(stack, api, sub);
    // The grant works again: the next refresh succeeds and changes nothing the apps see.
    await refreshRuns(sub);

    expect(await statusOf(sub)).toEqual({ status: 'active', reason: undefined, offlineAccess: true });
    const events = await connectionEventsOf(stack, sub);
    expect(events.map((e) => [e.previousStatus, e.status, e.reason])).toEqual([
      ['not_connected', 'active', undefined],
      ['active', 'needs_reconnect', 'reauth_required'],
      ['needs_reconnect', 'active', undefined],
    ]);
  });

  it('a refresh that succeeds, or a repeated sign-in, publishes nothing', async () => {
    const sub = 'ev-quiet';
    await signIn(stack, api, sub);
    await refreshRuns(sub);
    await signIn(stack, api, sub);
    expect(await connectionEventsOf(stack, sub)).toHaveLength(1);
  });
});

describe('delivery: at least once, never lost', () => {
  it('an event EventBridge refuses after the state was written still arrives, once', async () => {
    const sub = 'ev-refused';
    await signIn(stack, api, sub);
    await connectionEventsOf(stack, sub);
    // The publishing step fails right after the RISC function's write: EventBridge refuses the entry.
    stack.eventBridge.injectFault({ kind: 'refuse-entries', count: 1 });
    const calls = stack.eventBridge.putEventsCalls();

    await googleSends({ [RISC_EVENT_TYPES.accountDisabled]: account(sub) });

    expect(await store.getUser(sub)).toMatchObject({ status: 'revoked', reason: 'account_disabled' });
    const events = await connectionEventsOf(stack, sub);
    expect(events).toHaveLength(2);
    expectEvent(events[1], { status: 'needs_reconnect', reason: 'account_disabled' });
    expect(stack.eventBridge.putEventsCalls() - calls).toBe(2); // refused once, accepted on the redelivery
    expect(stack.connectionEvents.failures()).toEqual([]);
  });

  it('when PutEvents keeps failing past the SDK’s retries, the stream redelivers until it is published', async () => {
    const sub = 'ev-outage';
    await signIn(stack, api, sub);
    await connectionEventsOf(stack, sub);
    // More failures than one invocation's SDK attempts: the handler reports the change as failed.
    stack.eventBridge.injectFault({ kind: 'fail-calls', count: 5 });

    await disconnects(sub);

    const events = await connectionEventsOf(stack, sub);
    expect(events.map((e) => e.status)).toEqual(['active', 'disconnected']);
    expect(stack.connectionEvents.failures()).toEqual([]);
  });

  it('a redelivery after an unacknowledged publish repeats the same eventId, so consumers can dedupe', async () => {
    const sub = 'ev-redelivered';
    await signIn(stack, api, sub);
    await connectionEventsOf(stack, sub);
    // Published, but the answer is lost (every SDK attempt): the stream delivers the change again.
    stack.eventBridge.injectFault({ kind: 'record-then-fail', count: 3 });

    await googleSends({ [RISC_EVENT_TYPES.tokensRevoked]: account(sub) });

    const events = (await connectionEventsOf(stack, sub)).slice(1);
    expect(events.length).toBeGreaterThan(1);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1);
    expect(new Set(events.map((e) => JSON.stringify(e))).size).toBe(1);
  });

  it('the handler reports the first change it could not publish, so the stream retries from there', async () => {
    const sub = 'ev-direct';
    await signIn(stack, api, sub);
    await connectionEventsOf(stack, sub);
    const image = (status: string, version: number, updatedAt: string) => ({
      pk: { S: `USER#${sub}` },
      userId: { S: sub },
      status: { S: status },
      tokenVersion: { N: String(version) },
      updatedAt: { S: updatedAt },
      grantedScopes: { L: [{ S: DRIVE_APPDATA }] },
      ...(status === 'active' ? { refreshToken: { B: 'AAAA' } } : {}),
      ...(status === 'disconnected' ? { reason: { S: 'user_disconnected' } } : {}),
    });
    const record = (seq: string, before: object, after: object) => ({
      eventID: seq,
      eventName: 'MODIFY' as const,
      dynamodb: { Keys: { pk: { S: `USER#${sub}` } }, SequenceNumber: seq, OldImage: before, NewImage: after },
    });
    const a = image('active', 1, '2026-01-01T00:00:00.000Z');
    const b = image('disconnected', 2, '2026-01-01T00:00:01.000Z');
    const c = image('active', 3, '2026-01-01T00:00:02.000Z');
    const event = { Records: [record('001', a, b), record('002', b, c)] } as unknown as DynamoDBStreamEvent;
    stack.eventBridge.injectFault({ kind: 'refuse-entries', count: 2 });
    expect(await connectionEventsHandler(event)).toEqual({ batchItemFailures: [{ itemIdentifier: '001' }] });
    const published = stack.eventBridge.events().length;
    expect(await connectionEventsHandler(event)).toEqual({ batchItemFailures: [] });
    const again = stack.eventBridge
      .events()
      .slice(published)
      .map((e) => e.detail as ConnectionEventDetail);
    expect(again.map((e) => e.status)).toEqual(['disconnected', 'active']);
    // The same change gives the same eventId every time it is delivered.
    expect(await connectionEventsHandler(event)).toEqual({ batchItemFailures: [] });
    const third = stack.eventBridge
      .events()
      .slice(published + 2)
      .map((e) => (e.detail as ConnectionEventDetail).eventId);
    expect(third).toEqual(again.map((e) => e.eventId));
  });
});

describe('secrets', () => {
  it('no event or log line carries a token, code or secret', async () => {
    await connectionEventsOf(stack, 'any');
    const published = JSON.stringify(stack.eventBridge.events());
    const text = logs.text();
    for (const secret of stack.google.issuedSecrets()) {
      expect(published).not.toContain(secret);
      expect(text).not.toContain(secret);
    }
  });
});
