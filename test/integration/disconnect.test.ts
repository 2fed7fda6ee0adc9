/**
 * POST /disconnect end to end: the real handlers behind the local HTTP API, the Google
 * emulator (revoke endpoint, ID tokens, injected faults), KMS, DynamoDB and SQS — no mocks.
 * The queued revocation is then retried through `retryRevocation`, as the worker does.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RevokeTokenMessage } from '../../lib/refresh/messages';
import type { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { HttpApi } from '../../local/http-api';
import {
  activeUserIds as activeUsersIn,
  captureOutput,
  errorLines,
  signIn as signInAs,
  storedRefreshToken,
  userStoreOf,
  type LogCapture,
} from '../support/steps';
import { REJECTED_ID_TOKENS } from '../support/id-token-cases';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let api: HttpApi;
let logs: LogCapture;
let store: DynamoUserStore;
let sqs: SQSClient;
/** Every token this suite saw: none may appear in a response, a queue message or a log line. */
const secrets = new Set<string>();
const responses: string[] = [];

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  logs = captureOutput();
  stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  const disconnect = await import('../../functions/disconnect');
  api = await stack.serve({ 'POST /authcode': exchange.handler, 'POST /disconnect': disconnect.handler });
  store = userStoreOf(stack);
  sqs = new SQSClient({});
});

afterAll(async () => {
  logs.restore();
  sqs.destroy();
  await stack.close();
});

afterEach(() => stack.google.clearFaults());

/** The user signs in with forced consent: a refresh token is stored. Returns its plaintext. */
async function signIn(sub: string): Promise<string> {
  expect(await signInAs(stack, api, sub)).toMatchObject({ userId: sub, offlineAccess: true });
  const token = await storedRefreshToken(stack, store, sub);
  secrets.add(token);
  return token;
}

function idTokenFor(sub: string, claims: Record<string, unknown> = {}): string {
  const token = stack.google.signIdToken({ sub, ...claims });
  secrets.add(token);
  return token;
}

async function postDisconnect(headers: Record<string, string>) {
  const response = await fetch(`${api.url}/disconnect`, { method: 'POST', headers });
  const text = await response.text();
  responses.push(text);
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

const disconnectAs = (sub: string) =>
  postDisconnect({ 'x-requested-with': 'com.example.app', authorization: `Bearer ${idTokenFor(sub)}` });

const activeUserIds = () => activeUsersIn(store);

async function takeRevokeMessages(): Promise<RevokeTokenMessage[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  const messages: RevokeTokenMessage[] = [];
  for (const message of out.Messages ?? []) {
    responses.push(message.Body!);
    messages.push(JSON.parse(message.Body!) as RevokeTokenMessage);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: stack.queueUrl, ReceiptHandle: message.ReceiptHandle! }));
  }
  return messages.filter((message) => message.kind === 'revoke');
}

const revokeCalls = (sub: string) =>
  stack.google.requests().filter((entry) => entry.endpoint === 'revoke' && entry.sub === sub);

describe('POST /disconnect', () => {
  it('revokes the refresh token at Google, destroys the ciphertext and drops the user from the dispatcher', async () => {
    await signIn('3001');
    expect(await activeUserIds()).toContain('3001');
    expect(stack.google.tokenState('3001').refreshTokenActive).toBe(true);

    const response = await disconnectAs('3001');

    expect(response).toEqual({ status: 200, body: { userId: '3001', disconnected: true } });
    expect(stack.google.tokenState('3001').refreshTokenActive).toBe(false);
    expect(revokeCalls('3001').map((entry) => entry.status)).toEqual([200]);
    const record = await store.getUser('3001');
    expect(record).toMatchObject({ status: 'disconnected' });
    expect(record?.disconnectedAt).toEqual(expect.any(String));
    expect(record?.refreshToken).toBeUndefined();
    expect(record?.tokenHash).toBeUndefined();
    expect(record?.tokenPrefixHash).toBeUndefined();
    expect(await activeUserIds()).not.toContain('3001');
    expect(await takeRevokeMessages()).toEqual([]);
  });

  it('answers 200 again on a second disconnect, without calling Google', async () => {
    await signIn('3002');
    expect((await disconnectAs('3002')).status).toBe(200);
    stack.google.clearRequests();

    expect(await disconnectAs('3002')).toEqual({ status: 200, body: { userId: '3002', disconnected: true } });
    expect(revokeCalls('3002')).toEqual([]);
    expect((await store.getUser('3002'))?.status).toBe('disconnected');
  });

  it('answers 200 for a user of whom nothing is stored', async () => {
    expect(await disconnectAs('3003')).toEqual({ status: 200, body: { userId: '3003', disconnected: true } });
    expect(await store.getUser('3003')).toBeUndefined();
  });

  it('destroys the ciphertext even when Google cannot revoke, and the queued retry revokes it later', async () => {
    const token = await signIn('3004');
    stack.google.injectFault({ endpoint: 'revoke', kind: 503, count: 1 });

    expect(await disconnectAs('3004')).toEqual({ status: 200, body: { userId: '3004', disconnected: true } });

    const record = await store.getUser('3004');
    expect(record?.status).toBe('disconnected');
    expect(record?.refreshToken).toBeUndefined();
    expect(await activeUserIds()).not.toContain('3004');
    expect(stack.google.tokenState('3004').refreshTokenActive).toBe(true);

    const [message, ...others] = await takeRevokeMessages();
    expect(others).toEqual([]);
    expect(message).toMatchObject({ kind: 'revoke', userId: '3004', attempt: 1 });
    expect(message!.ciphertext).not.toContain(token);
    expect(Buffer.from(message!.ciphertext, 'base64').toString('latin1')).not.toContain(token);

    // The refresh worker hands the message to retryRevocation once Google is back.
    const { retryRevocation } = await import('../../lib/revocation');
    const { googleServices } = await import('../../lib/runtime/google');
    const { tokenCipher } = await import('../../lib/runtime/cipher');
    await retryRevocation(message!, { cipher: tokenCipher(), oauth: (await googleServices()).oauth, store });
    expect(stack.google.tokenState('3004').refreshTokenActive).toBe(false);
  });

  it('keeps retrying a revocation while Google is down, with backoff, and gives up after the last attempt', async () => {
    await signIn('3005');
    stack.google.injectFault({ endpoint: 'revoke', kind: 500, count: 1 });
    await disconnectAs('3005');
    const [message] = await takeRevokeMessages();
    const { retryRevocation } = await import('../../lib/revocation');
    const { UpstreamUnavailableError } = await import('../../lib/errors');
    const { googleServices } = await import('../../lib/runtime/google');
    const { tokenCipher } = await import('../../lib/runtime/cipher');
    const deps = { cipher: tokenCipher(), oauth: (await googleServices()).oauth };

    // Without a queue to re-send to, the retry throws so that SQS redelivers the message.
    stack.google.injectFault({ endpoint: 'revoke', kind: 503, count: 1 });
    await expect(retryRevocation(message!, deps)).rejects.toBeInstanceOf(UpstreamUnavailableError);

    // With one, the next attempt is re-queued with a growing delay.
    const requeued: { message: RevokeTokenMessage; delay?: number }[] = [];
    const revocations = {
      enqueue: (m: RevokeTokenMessage, delay?: number) => Promise.resolve(void requeued.push({ message: m, delay })),
    };
    stack.google.injectFault({ endpoint: 'revoke', kind: 429, count: 2 });
    await retryRevocation(message!, { ...deps, revocations });
    await retryRevocation(requeued[0]!.message, { ...deps, revocations });
    expect(requeued.map((r) => [r.message.attempt, r.delay])).toEqual([
      [2, 30],
      [3, 60],
    ]);

    // The last attempt logs and gives up rather than cycling forever.
    stack.google.injectFault({ endpoint: 'revoke', kind: 503, count: 1 });
    await expect(
      retryRevocation({ ...message!, attempt: 3 }, { ...deps, revocations, maxAttempts: 3 }),
    ).resolves.toBeUndefined();
    expect(requeued).toHaveLength(2);
    expect(logs.text()).toContain('revoke retry: giving up');
    expect(stack.google.tokenState('3005').refreshTokenActive).toBe(true);

    // Google back: done.
    await retryRevocation(message!, deps);
    expect(stack.google.tokenState('3005').refreshTokenActive).toBe(false);
  });

  it('does not let a late revoke retry end a grant the user has given again since', async () => {
    await signIn('3006');
    stack.google.injectFault({ endpoint: 'revoke', kind: 503, count: 1 });
    await disconnectAs('3006');
    const [message] = await takeRevokeMessages();
    await signIn('3006');

    const { retryRevocation } = await import('../../lib/revocation');
    const { googleServices } = await import('../../lib/runtime/google');
    const { tokenCipher } = await import('../../lib/runtime/cipher');
    await retryRevocation(message!, { cipher: tokenCipher(), oauth: (await googleServices()).oauth, store });

    expect(stack.google.tokenState('3006').refreshTokenActive).toBe(true);
    expect((await store.getUser('3006'))?.status).toBe('active');
  });

  it('still revokes when the disconnect queued the retry but never got to destroy the ciphertext', async () => {
    await signIn('3010');
    const record = await store.getUser('3010');
    // What a disconnect that crashed between queueing and its DynamoDB write leaves behind.
    const message: RevokeTokenMessage = {
      kind: 'revoke',
      userId: '3010',
      ciphertext: Buffer.from(record!.refreshToken!).toString('base64'),
      attempt: 1,
    };

    const { retryRevocation } = await import('../../lib/revocation');
    const { googleServices } = await import('../../lib/runtime/google');
    const { tokenCipher } = await import('../../lib/runtime/cipher');
    await retryRevocation(message, { cipher: tokenCipher(), oauth: (await googleServices()).oauth, store });

    expect(stack.google.tokenState('3010').refreshTokenActive).toBe(false);
  });

  it('finishes off a token stored by a sign-in that races the disconnect', async () => {
    await signIn('3007');
    const { Disconnect } = await import('../../lib/disconnect');
    const { SqsRevocationQueue } = await import('../../lib/aws/sqs-queues');
    const { googleServices } = await import('../../lib/runtime/google');
    const { idTokenVerifier } = await import('../../lib/runtime/id-tokens');
    const { tokenCipher } = await import('../../lib/runtime/cipher');
    const google = await googleServices();
    let raced = false;
    const disconnect = new Disconnect({
      store,
      cipher: tokenCipher(),
      idTokens: await idTokenVerifier(),
      revocations: new SqsRevocationQueue(sqs, stack.queueUrl),
      oauth: {
        // The user signs in again on another device while our revoke is on its way to Google.
        revoke: async (token: string) => {
          if (!raced) {
            raced = true;
            await signIn('3007');
          }
          return google.oauth.revoke(token);
        },
      },
    });

    await expect(disconnect.disconnect(idTokenFor('3007'))).resolves.toEqual({ userId: '3007', disconnected: true });

    expect(raced).toBe(true);
    const record = await store.getUser('3007');
    expect(record?.status).toBe('disconnected');
    expect(record?.refreshToken).toBeUndefined();
    expect(stack.google.tokenState('3007').refreshTokenActive).toBe(false);
    expect(await activeUserIds()).not.toContain('3007');
  });

  it('answers 403 csrf_header_missing without X-Requested-With, before anything else', async () => {
    await signIn('3008');
    stack.google.clearRequests();

    const response = await postDisconnect({ authorization: `Bearer ${idTokenFor('3008')}` });

    expect(response.status).toBe(403);
    expect(response.body.error).toBe('csrf_header_missing');
    expect(revokeCalls('3008')).toEqual([]);
    expect((await store.getUser('3008'))?.status).toBe('active');
  });

  it.each([
    ['no Authorization header', () => ({})],
    ['a non-Bearer Authorization header', () => ({ authorization: 'Basic dXNlcjpwYXNz' })],
    [
      'an ID token for another audience',
      () => ({ authorization: `Bearer ${idTokenFor('3009', { aud: 'other.apps.googleusercontent.com' })}` }),
    ],
    [
      'an expired ID token',
      () => ({ authorization: `Bearer ${idTokenFor('3009', { iat: 1_600_000_000, exp: 1_600_003_600 })}` }),
    ],
    ['an ID token signed by someone else', () => ({ authorization: `Bearer ${tamper(idTokenFor('3009'))}` })],
  ])('answers 401 invalid_id_token for %s and changes nothing', async (_why, headers) => {
    if (!(await store.getUser('3009'))) await signIn('3009');

    const response = await postDisconnect({ 'x-requested-with': 'com.example.app', ...headers() });

    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_id_token');
    expect((await store.getUser('3009'))?.status).toBe('active');
    expect(stack.google.tokenState('3009').refreshTokenActive).toBe(true);
  });

  describe('bearer ID token verification', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const bearer = (token: string) => ({ 'x-requested-with': 'com.example.app', authorization: `Bearer ${token}` });

    /** Posts a disconnect for 3020 and expects 401 with nothing changed and no error logged. */
    async function expectRefused(token: string) {
      if (!(await store.getUser('3020'))) await signIn('3020');
      const mark = logs.text().length;

      const response = await postDisconnect(bearer(token));

      expect(response).toEqual({ status: 401, body: { error: 'invalid_id_token', message: expect.any(String) } });
      expect((await store.getUser('3020'))?.status).toBe('active');
      expect(stack.google.tokenState('3020').refreshTokenActive).toBe(true);
      expect(errorLines(logs.text().slice(mark))).toEqual([]);
    }

    it.each(REJECTED_ID_TOKENS)('answers 401 for %s and changes nothing', async (_what, override) => {
      const { tamper, claims } = override(stack.clientId);
      await expectRefused(idTokenFor('3020', { ...(tamper ? { tamper } : {}), ...(claims ? { claims } : {}) }));
    });

    it.each([
      ['a JSON null header', 'bnVsbA.e30.'],
      ['a JSON null payload', 'e30.bnVsbA.'],
      ['both parts JSON null', 'bnVsbA.bnVsbA.'],
      ['a header that is a JSON string', `${Buffer.from('"RS256"').toString('base64url')}.e30.`],
      ['two parts', 'e30.e30'],
    ])('answers 401 for %s without logging an error', async (_what, token) => {
      await expectRefused(token);
    });

    it('requires a recent sign-in: an ID token issued over 10 minutes ago is refused', async () => {
      await expectRefused(idTokenFor('3020', { iat: now() - 11 * 60, exp: now() - 11 * 60 + 3600 }));
    });

    it('accepts an ID token issued 9 minutes ago', async () => {
      await signIn('3021');
      const token = idTokenFor('3021', { iat: now() - 9 * 60, exp: now() - 9 * 60 + 3600 });
      expect(await postDisconnect(bearer(token))).toEqual({
        status: 200,
        body: { userId: '3021', disconnected: true },
      });
    });
  });

  it('answers 503 when Google’s certificates cannot be fetched, never treating the token as verified', async () => {
    await signIn('3022');
    // A cold function: no certificates cached yet.
    let handler: (event: unknown) => Promise<unknown> = () => Promise.reject(new Error('not loaded'));
    await jest.isolateModulesAsync(async () => {
      handler = (await import('../../functions/disconnect')).handler as typeof handler;
    });
    stack.google.injectFault({ endpoint: 'certs', kind: 503, count: 5 });

    const result = (await handler({
      headers: { 'x-requested-with': 'com.example.app', authorization: `Bearer ${idTokenFor('3022')}` },
      isBase64Encoded: false,
      requestContext: {},
    })) as { statusCode: number; headers: Record<string, string>; body: string };

    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'upstream_unavailable' });
    expect(Number(result.headers['retry-after'])).toBeGreaterThan(0);
    expect((await store.getUser('3022'))?.status).toBe('active');
    expect(stack.google.tokenState('3022').refreshTokenActive).toBe(true);
  });

  it('warns at cold start when GOOGLE_ALLOWED_AZP is empty (any azp accepted), and only then', async () => {
    const saved = process.env.GOOGLE_ALLOWED_AZP;
    const coldStart = async (allowedAzp: string) => {
      process.env.GOOGLE_ALLOWED_AZP = allowedAzp;
      const mark = logs.text().length;
      await jest.isolateModulesAsync(async () => {
        await import('../../functions/disconnect');
      });
      return logs
        .text()
        .slice(mark)
        .split('\n')
        .filter((line) => line.includes('GOOGLE_ALLOWED_AZP is empty'));
    };
    try {
      const warnings = await coldStart('');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('"level":"WARN"');
      expect(await coldStart('android.apps.googleusercontent.com')).toEqual([]);
    } finally {
      process.env.GOOGLE_ALLOWED_AZP = saved;
    }
  });

  it('never puts a token in a response, a queue message or a log line', () => {
    const logged = logs.text();
    expect(secrets.size).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(logged).not.toContain(secret);
      for (const text of responses) expect(text).not.toContain(secret);
    }
  });
});

/** Same header and signature, another subject: the signature no longer matches. */
function tamper(jwt: string): string {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'attacker' })).toString('base64url')}.${signature}`;
}
