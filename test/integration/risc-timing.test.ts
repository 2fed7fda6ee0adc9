/**
 * POST /risc over time: an event is claimed before it is acted on and done only after, so a
 * delivery that died half-way is acted on by Google's redelivery; account-wide events destroy
 * only grants stored before them; events older than the replay window are acknowledged only.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_REPLAY_WINDOW_MS, EVENT_LEASE_MS } from '../../lib/risc/receiver';
import { RISC_EVENT_TYPES } from '../../lib/risc/events';
import { DynamoSecurityEventLedger } from '../../lib/store/dynamodb/security-event-ledger';
import type { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { HttpApi } from '../../local/http-api';
import { signIn, userStoreOf } from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

const RISC_ISSUER = 'https://accounts.google.com/';

let stack: TestStack;
let api: HttpApi;
let store: DynamoUserStore;
let ledger: DynamoSecurityEventLedger;

beforeAll(async () => {
  stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  const risc = await import('../../functions/risc');
  api = await stack.serve({ 'POST /authcode': exchange.handler, 'POST /risc': risc.handler });
  store = userStoreOf(stack);
  ledger = new DynamoSecurityEventLedger(new DynamoDBClient({}), stack.aws.tableName);
});

afterAll(() => stack.close());

const nowSeconds = () => Math.floor(Date.now() / 1000);
const account = (sub: string) => ({ subject: { subject_type: 'iss-sub', iss: RISC_ISSUER, sub } });

function tokensRevoked(sub: string, options: { jti?: string; iat?: number } = {}): string {
  return stack.google.signSecurityEvent({
    aud: stack.clientId,
    events: { [RISC_EVENT_TYPES.tokensRevoked]: account(sub) },
    ...options,
  });
}

async function push(token: string): Promise<{ status: number; retryAfter: string | null }> {
  const response = await fetch(`${api.url}/risc`, {
    method: 'POST',
    headers: { 'content-type': 'application/secevent+jwt' },
    body: token,
  });
  await response.text();
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}

const statusOf = async (sub: string) => (await store.getUser(sub))?.status;

describe('POST /risc: claimed before acting, done only after', () => {
  it('acts on the redelivery of an event whose first delivery died after claiming it', async () => {
    await signIn(stack, api, '5001');
    const jti = 'jti-crashed-5001';
    // What a delivery that crashed (or timed out) right after its claim leaves behind.
    expect(await ledger.begin(jti, Date.now() - 2 * EVENT_LEASE_MS, EVENT_LEASE_MS, DEFAULT_REPLAY_WINDOW_MS)).toBe(
      'claimed',
    );

    expect((await push(tokensRevoked('5001', { jti }))).status).toBe(202);

    expect(await statusOf('5001')).toBe('revoked');
    // And now it is done: one more redelivery is acknowledged without acting.
    expect(await ledger.begin(jti, Date.now(), EVENT_LEASE_MS, DEFAULT_REPLAY_WINDOW_MS)).toBe('done');
  });

  it('answers 503 with Retry-After while another delivery holds the event, acting on nothing', async () => {
    await signIn(stack, api, '5002');
    const jti = 'jti-in-progress-5002';
    await ledger.begin(jti, Date.now(), EVENT_LEASE_MS, DEFAULT_REPLAY_WINDOW_MS);

    const response = await push(tokensRevoked('5002', { jti }));

    expect(response.status).toBe(503);
    expect(Number(response.retryAfter)).toBeGreaterThan(0);
    expect(await statusOf('5002')).toBe('active');
  });

  it('marks the event done after acting, so a redelivery changes nothing', async () => {
    await signIn(stack, api, '5003');
    const set = tokensRevoked('5003', { jti: 'jti-done-5003' });
    expect((await push(set)).status).toBe(202);
    expect(await statusOf('5003')).toBe('revoked');

    await signIn(stack, api, '5003');
    expect((await push(set)).status).toBe(202);
    expect(await statusOf('5003')).toBe('active');
  });
});

describe('POST /risc: account-wide events and time', () => {
  it.each([
    ['tokens-revoked', RISC_EVENT_TYPES.tokensRevoked],
    ['account-disabled', RISC_EVENT_TYPES.accountDisabled],
  ])('%s keeps a grant the user gave after the event (a late delivery)', async (_name, type) => {
    const sub = `5010-${_name}`;
    const iat = nowSeconds() - 600; // the event happened ten minutes ago…
    await signIn(stack, api, sub); // …and the user consented again since
    const before = await store.getUser(sub);

    const response = await push(
      stack.google.signSecurityEvent({ aud: stack.clientId, events: { [type]: account(sub) }, iat }),
    );

    expect(response.status).toBe(202);
    const after = await store.getUser(sub);
    expect(after?.status).toBe('active');
    expect(after?.tokenVersion).toBe(before?.tokenVersion);
  });

  it('destroys a grant stored before the event', async () => {
    await signIn(stack, api, '5011');
    expect((await push(tokensRevoked('5011', { iat: nowSeconds() + 1 }))).status).toBe(202);
    expect(await statusOf('5011')).toBe('revoked');
  });

  it('acknowledges an event older than the replay window without acting or recording it', async () => {
    await signIn(stack, api, '5012');
    const jti = 'jti-stale-5012';
    const iat = nowSeconds() - Math.ceil(DEFAULT_REPLAY_WINDOW_MS / 1000) - 3600;

    expect((await push(tokensRevoked('5012', { jti, iat }))).status).toBe(202);

    expect(await statusOf('5012')).toBe('active');
    expect(await ledger.begin(jti, Date.now(), EVENT_LEASE_MS, DEFAULT_REPLAY_WINDOW_MS)).toBe('claimed');
  });
});
