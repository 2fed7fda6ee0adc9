/**
 * POST /risc end to end: security event tokens signed by the Google emulator, pushed to the
 * real handler behind the local HTTP API, acting on DynamoDB — no mocks.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { riscTokenHash } from '../../lib/crypto/envelope';
import { RISC_EVENT_TYPES } from '../../lib/risc/events';
import { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { UserRecord } from '../../lib/store/users';
import type { HttpApi } from '../../local/http-api';
import {
  activeUserIds as activeUsersIn,
  captureOutput,
  cipherOf,
  errorLines,
  userStoreOf,
  type LogCapture,
} from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

const RISC_ISSUER = 'https://accounts.google.com/';
const ANDROID_CLIENT = 'android-risc.apps.googleusercontent.com';

let stack: TestStack;
let api: HttpApi;
let logs: LogCapture;
let store: DynamoUserStore;
/** Every token and SET this suite saw: none may appear in a response or log line. */
const secrets = new Set<string>();
const responses: string[] = [];

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  logs = captureOutput();
  stack = await startTestStack({ allowedAzp: [ANDROID_CLIENT] });
  const exchange = await import('../../functions/exchange');
  const risc = await import('../../functions/risc');
  api = await stack.serve({ 'POST /authcode': exchange.handler, 'POST /risc': risc.handler });
  store = userStoreOf(stack);
});

afterAll(async () => {
  logs.restore();
  await stack.close();
});

const cipher = () => cipherOf(stack);

/** The user signs in with forced consent: a refresh token is stored. Returns its plaintext. */
async function signIn(sub: string): Promise<string> {
  const { code } = stack.google.authorize({ sub, forceConsent: true });
  const response = await fetch(`${api.url}/authcode`, {
    method: 'POST',
    headers: { 'x-requested-with': 'com.example.app', 'content-type': 'application/json' },
    body: JSON.stringify({ authCode: code }),
  });
  expect(response.status).toBe(200);
  const record = await store.getUser(sub);
  const token = await cipher().decrypt(record!.refreshToken!, sub);
  secrets.add(token);
  return token;
}

type SetRequest = Parameters<TestStack['google']['signSecurityEvent']>[0];

function securityEvent(events: Record<string, object>, overrides: Partial<SetRequest> = {}): string {
  const token = stack.google.signSecurityEvent({ aud: stack.clientId, events, ...overrides });
  secrets.add(token);
  return token;
}

const account = (sub: string) => ({ subject: { subject_type: 'iss-sub', iss: RISC_ISSUER, sub } });
const oauthToken = (alg: 'prefix' | 'hash_base64_sha512_sha512', token: string) => ({
  subject: { subject_type: 'oauth_token', token_type: 'refresh_token', token_identifier_alg: alg, token },
});

async function push(token: string, contentType = 'application/secevent+jwt') {
  const response = await fetch(`${api.url}/risc`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: token,
  });
  const text = await response.text();
  responses.push(text);
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const activeUserIds = () => activeUsersIn(store);

async function expectRevoked(sub: string, reason: string): Promise<void> {
  const record = await store.getUser(sub);
  expect(record).toMatchObject({ status: 'revoked', revokedReason: reason });
  expect(record?.refreshToken).toBeUndefined();
  expect(record?.tokenHash).toBeUndefined();
  expect(record?.tokenPrefixHash).toBeUndefined();
  expect(await activeUserIds()).not.toContain(sub);
}

async function expectUntouched(sub: string, before: UserRecord | undefined): Promise<void> {
  const record = await store.getUser(sub);
  expect(record?.status).toBe('active');
  expect(record?.tokenVersion).toBe(before?.tokenVersion);
  expect(Buffer.from(record!.refreshToken!).equals(Buffer.from(before!.refreshToken!))).toBe(true);
  expect(await activeUserIds()).toContain(sub);
}

describe('POST /risc', () => {
  it('token-revoked by prefix destroys exactly that user’s token', async () => {
    const token = await signIn('4001');
    await signIn('4002');
    const bystander = await store.getUser('4002');

    const response = await push(
      securityEvent({ [RISC_EVENT_TYPES.tokenRevoked]: oauthToken('prefix', token.slice(0, 16)) }),
    );

    expect(response.status).toBe(202);
    await expectRevoked('4001', 'risc:token-revoked');
    await expectUntouched('4002', bystander);
  });

  it('token-revoked by hash_base64_sha512_sha512 destroys exactly that user’s token', async () => {
    const token = await signIn('4003');
    await signIn('4004');
    const bystander = await store.getUser('4004');

    const response = await push(
      securityEvent({ [RISC_EVENT_TYPES.tokenRevoked]: oauthToken('hash_base64_sha512_sha512', riscTokenHash(token)) }),
    );

    expect(response.status).toBe(202);
    await expectRevoked('4003', 'risc:token-revoked');
    await expectUntouched('4004', bystander);
  });

  it('token-revoked for a token we do not hold (an older one) changes nothing', async () => {
    const old = await signIn('4005');
    await signIn('4005');
    const current = await store.getUser('4005');

    const response = await push(
      securityEvent({ [RISC_EVENT_TYPES.tokenRevoked]: oauthToken('hash_base64_sha512_sha512', riscTokenHash(old)) }),
    );

    expect(response.status).toBe(202);
    await expectUntouched('4005', current);
  });

  it('tokens-revoked destroys all of the user’s stored tokens', async () => {
    await signIn('4006');
    const response = await push(securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4006') }));
    expect(response.status).toBe(202);
    await expectRevoked('4006', 'risc:tokens-revoked');
  });

  it('account-disabled (hijacking) destroys the user’s tokens and records why', async () => {
    await signIn('4007');
    const response = await push(
      securityEvent({ [RISC_EVENT_TYPES.accountDisabled]: { ...account('4007'), reason: 'hijacking' } }),
    );
    expect(response.status).toBe(202);
    await expectRevoked('4007', 'risc:account-disabled:hijacking');
  });

  it.each([
    ['sessions-revoked', RISC_EVENT_TYPES.sessionsRevoked, account('4008')],
    ['account-enabled', RISC_EVENT_TYPES.accountEnabled, account('4008')],
    ['account-credential-change-required', RISC_EVENT_TYPES.accountCredentialChangeRequired, account('4008')],
    ['verification', RISC_EVENT_TYPES.verification, { state: 'state-from-stream-verify' }],
    ['an unknown event type', 'https://schemas.openid.net/secevent/risc/event-type/account-purged', account('4008')],
  ])('acknowledges %s and changes nothing', async (_name, type, event) => {
    if (!(await store.getUser('4008'))) await signIn('4008');
    const before = await store.getUser('4008');

    expect((await push(securityEvent({ [type]: event }))).status).toBe(202);
    await expectUntouched('4008', before);
  });

  it('accepts typ written as the media type application/secevent+jwt', async () => {
    await signIn('4016');
    const response = await push(
      securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4016') }, { typ: 'application/secevent+jwt' }),
    );
    expect(response.status).toBe(202);
    await expectRevoked('4016', 'risc:tokens-revoked');
  });

  it('answers 503 and changes nothing when the JWKS cannot be fetched, then acts on the redelivery', async () => {
    await signIn('4017');
    const before = await store.getUser('4017');
    const { createRiscReceiver } = await import('../../lib/risc');
    const { UpstreamUnavailableError } = await import('../../lib/errors');
    const { googleServices } = await import('../../lib/runtime/google');
    const { securityEventLedger } = await import('../../lib/runtime/aws');
    const google = await googleServices();
    const receiver = createRiscReceiver({
      store,
      securityEvents: securityEventLedger(),
      audiences: google.trustedClientIds,
      endpoints: google.endpoints,
      issuer: RISC_ISSUER,
    });
    const set = securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4017') }, { jti: 'jti-jwks-down-4017' });
    stack.google.injectFault({ endpoint: 'certs', kind: 503, count: 1 });

    await expect(receiver.receive(set)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expectUntouched('4017', before);

    await expect(receiver.receive(set)).resolves.toMatchObject({ replay: false });
    await expectRevoked('4017', 'risc:tokens-revoked');
  });

  it('accepts a SET addressed to an app client ID', async () => {
    await signIn('4009');
    const response = await push(
      securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4009') }, { aud: ANDROID_CLIENT }),
    );
    expect(response.status).toBe(202);
    await expectRevoked('4009', 'risc:tokens-revoked');
  });

  it('accepts an event whose exp is long past: SETs describe past events', async () => {
    await signIn('4010');
    const now = Math.floor(Date.now() / 1000);
    const response = await push(
      securityEvent(
        { [RISC_EVENT_TYPES.tokensRevoked]: account('4010') },
        { iat: now - 3 * 86_400, exp: now - 2 * 86_400 },
      ),
    );
    expect(response.status).toBe(202);
    await expectRevoked('4010', 'risc:tokens-revoked');
  });

  it('acknowledges a replayed jti without acting on it again', async () => {
    await signIn('4011');
    const set = securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4011') }, { jti: 'jti-replayed-4011' });
    expect((await push(set)).status).toBe(202);
    await expectRevoked('4011', 'risc:tokens-revoked');

    // The user signs in again afterwards; Google redelivers the old event.
    await signIn('4011');
    const fresh = await store.getUser('4011');
    expect((await push(set)).status).toBe(202);
    await expectUntouched('4011', fresh);
  });

  it('accepts a body API Gateway handed over base64-encoded', async () => {
    await signIn('4012');
    const response = await push(
      securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4012') }),
      'application/octet-stream',
    );
    expect(response.status).toBe(202);
    await expectRevoked('4012', 'risc:tokens-revoked');
  });

  describe('rejects with 400 invalid_token and changes nothing', () => {
    it.each([
      [
        'a bad signature',
        'signature',
        (sub: string, id: string) =>
          tamper(securityEvent({ [RISC_EVENT_TYPES.accountEnabled]: account(sub) }, { jti: id }), sub),
      ],
      [
        'an unknown kid',
        'kid',
        (sub: string, id: string) =>
          securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account(sub) }, { jti: id, kid: 'f'.repeat(40) }),
      ],
      [
        'another audience',
        'aud',
        (sub: string, id: string) =>
          securityEvent(
            { [RISC_EVENT_TYPES.tokensRevoked]: account(sub) },
            { jti: id, aud: 'other.apps.googleusercontent.com' },
          ),
      ],
      [
        'the ID token issuer (no trailing slash)',
        'iss',
        (sub: string, id: string) =>
          securityEvent(
            { [RISC_EVENT_TYPES.tokensRevoked]: account(sub) },
            { jti: id, iss: 'https://accounts.google.com' },
          ),
      ],
      [
        'a foreign issuer',
        'iss-foreign',
        (sub: string, id: string) =>
          securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account(sub) }, { jti: id, iss: 'https://evil.example/' }),
      ],
      [
        'typ JWT instead of secevent+jwt',
        'typ',
        (sub: string, id: string) =>
          securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account(sub) }, { jti: id, typ: 'JWT' }),
      ],
      [
        'no typ',
        'typ-missing',
        (sub: string, id: string) =>
          securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account(sub) }, { jti: id, typ: null }),
      ],
      ['no events', 'events', (_sub: string, id: string) => securityEvent({}, { jti: id })],
      [
        'an empty jti',
        'jti',
        (sub: string) => securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account(sub) }, { jti: '' }),
      ],
      ['a body that is not a JWT', undefined, () => 'this is not a security event token'],
      ['a JSON null header', undefined, () => 'bnVsbA.e30.'],
      ['a JSON null payload', undefined, () => 'e30.bnVsbA.'],
      ['both parts JSON null', undefined, () => 'bnVsbA.bnVsbA.'],
    ])('%s', async (_why, key, build) => {
      const sub = '4013';
      if (!(await store.getUser(sub))) await signIn(sub);
      const before = await store.getUser(sub);
      const id = `jti-rejected-${key}`;
      const mark = logs.text().length;

      const response = await push(build(sub, id));

      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'invalid_token', message: expect.any(String) });
      expect(errorLines(logs.text().slice(mark))).toEqual([]);
      await expectUntouched(sub, before);
      // The jti was not recorded: a genuine event with that jti would still be acted on.
      if (key) {
        const { DynamoSecurityEventLedger } = await import('../../lib/store/dynamodb/security-event-ledger');
        const ledger = new DynamoSecurityEventLedger(new DynamoDBClient({}), stack.aws.tableName);
        expect(await ledger.record(id, Date.now(), 60_000)).toBe(true);
      }
    });

    it('an empty body (400 invalid_request)', async () => {
      const response = await push('');
      expect(response.status).toBe(400);
      expect(response.body?.error).toBe('invalid_request');
    });
  });

  it('forgets the jti when acting fails, so that Google’s redelivery is acted on', async () => {
    await signIn('4014');
    const { RiscReceiver, SecurityEventTokenVerifier, RiscConfigurationSource } = await import('../../lib/risc');
    const { GoogleKeySet } = await import('../../lib/google/token-verifier');
    const { googleServices } = await import('../../lib/runtime/google');
    const { securityEventLedger } = await import('../../lib/runtime/aws');
    const google = await googleServices();
    /** DynamoDB failing once mid-event: the one fault no emulator plays for us. */
    class FlakyStore extends DynamoUserStore {
      failures = 1;
      override markRevoked(...args: Parameters<DynamoUserStore['markRevoked']>) {
        if (this.failures-- > 0) return Promise.reject(new Error('DynamoDB is unavailable'));
        return super.markRevoked(...args);
      }
    }
    const configuration = new RiscConfigurationSource(google.endpoints.riscConfigurationUrl);
    const receiver = new RiscReceiver({
      store: new FlakyStore(new DynamoDBClient({}), stack.aws.tableName),
      securityEvents: securityEventLedger(),
      verifier: new SecurityEventTokenVerifier(new GoogleKeySet(() => configuration.jwksUri(), 'jwks'), {
        audiences: google.trustedClientIds,
        issuer: RISC_ISSUER,
      }),
    });
    const set = securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4014') });

    await expect(receiver.receive(set)).rejects.toThrow('DynamoDB is unavailable');
    expect((await store.getUser('4014'))?.status).toBe('active');

    await expect(receiver.receive(set)).resolves.toMatchObject({
      replay: false,
      outcomes: [{ revokedUsers: ['4014'] }],
    });
    await expectRevoked('4014', 'risc:tokens-revoked');
  });

  it('answers 503 without recording the jti when Google’s RISC configuration cannot be fetched', async () => {
    await signIn('4015');
    const before = await store.getUser('4015');
    const { createRiscReceiver } = await import('../../lib/risc');
    const { UpstreamUnavailableError } = await import('../../lib/errors');
    const { googleServices } = await import('../../lib/runtime/google');
    const { securityEventLedger } = await import('../../lib/runtime/aws');
    const google = await googleServices();
    // A cold receiver: nothing cached yet, so it must reach the discovery document first.
    const receiver = createRiscReceiver({
      store,
      securityEvents: securityEventLedger(),
      audiences: google.trustedClientIds,
      endpoints: google.endpoints,
      issuer: RISC_ISSUER,
    });
    const set = securityEvent({ [RISC_EVENT_TYPES.tokensRevoked]: account('4015') }, { jti: 'jti-unavailable-4015' });
    stack.google.injectFault({ endpoint: 'risc', kind: 503, count: 1 });

    await expect(receiver.receive(set)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expectUntouched('4015', before);

    // Google redelivers once it is back: acted on.
    await expect(receiver.receive(set)).resolves.toMatchObject({ replay: false });
    await expectRevoked('4015', 'risc:tokens-revoked');
  });

  it('never puts a token or a SET in a response or a log line', () => {
    const logged = logs.text();
    expect(secrets.size).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(logged).not.toContain(secret);
      for (const text of responses) expect(text).not.toContain(secret);
    }
  });
});

/** Keeps the header and signature, changes the subject: the signature no longer matches. */
function tamper(jwt: string, sub: string): string {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { events: Record<string, unknown> };
  const events = { [RISC_EVENT_TYPES.tokensRevoked]: account(sub) };
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, events })).toString('base64url')}.${signature}`;
  secrets.add(forged);
  return forged;
}
