/**
 * The token function (access tokens for the company's own jobs) end to end: users signed in
 * through the real exchange, the real token handler, DynamoDB, KMS and the Google emulator
 * over HTTP. "Execution environments" are separate vaults built by the function's own wiring.
 */
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { GrantRefresher as GrantRefresherClass } from '../../lib/access-tokens';
import type { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { TokenAnswer, TokenVault, VendedToken } from '../../lib/token-vault';
import type { RequestLogEntry } from '../../local/google-emulator';
import type { HttpApi } from '../../local/http-api';
import {
  captureOutput,
  cipherOf,
  signIn as signInAs,
  storedRefreshToken,
  userStoreOf,
  type LogCapture,
} from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const DRIVE_FILE = 'https://www.googleapis.com/auth/drive.file';

let stack: TestStack;
let api: HttpApi;
let logs: LogCapture;
let store: DynamoUserStore;
let dynamo: DynamoDBClient;
let handler: (event: unknown, context?: { awsRequestId?: string }) => Promise<TokenAnswer>;
let buildTokenVault: typeof import('../../lib/runtime/token').buildTokenVault;
let GrantRefresher: typeof GrantRefresherClass;
/** Every answer the suite got, to scan for leaks. */
const answers: TokenAnswer[] = [];

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  logs = captureOutput();
  stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  handler = (await import('../../functions/token')).handler;
  buildTokenVault = (await import('../../lib/runtime/token')).buildTokenVault;
  GrantRefresher = (await import('../../lib/access-tokens')).GrantRefresher;
  api = await stack.serve({ 'POST /authcode': exchange.handler });
  store = userStoreOf(stack);
  dynamo = new DynamoDBClient({});
});

afterAll(async () => {
  logs.restore();
  dynamo.destroy();
  await stack.close();
});

afterEach(() => stack.google.clearFaults());

async function signIn(sub: string, scopes?: string[]): Promise<void> {
  await signInAs(stack, api, sub, scopes ? { scopes } : {});
}

async function getToken(event: unknown, requestId = 'req-1'): Promise<TokenAnswer> {
  const answer = await handler(event, { awsRequestId: requestId });
  answers.push(answer);
  return answer;
}

function asToken(answer: TokenAnswer): VendedToken {
  if ('error' in answer) throw new Error(`expected a token, got ${JSON.stringify(answer)}`);
  return answer;
}

const refreshGrants = (sub: string): RequestLogEntry[] =>
  stack.google
    .requests()
    .filter((entry) => entry.endpoint === 'token' && entry.grantType === 'refresh_token' && entry.sub === sub);

/** What Google's tokeninfo says about an access token. */
async function tokeninfo(accessToken: string): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${stack.google.url}/tokeninfo?access_token=${encodeURIComponent(accessToken)}`);
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/** The cached token outlives its use: moves its stored expiry into the past, as time would. */
async function expireCachedToken(sub: string): Promise<void> {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: stack.aws.tableName,
      Key: { pk: { S: `ACCESS#${sub}` } },
      UpdateExpression: 'SET tokenExpiresAt = :past',
      ExpressionAttributeValues: { ':past': { N: String(Date.now() - 1000) } },
    }),
  );
}

describe('token function', () => {
  it('gives a connected user a token Google accepts, with its expiry and scopes', async () => {
    await signIn('vend-ok');
    const token = asToken(await getToken({ userId: 'vend-ok', scopes: [DRIVE_APPDATA] }));

    const info = await tokeninfo(token.accessToken);
    expect(info.status).toBe(200);
    expect(info.body.sub).toBe('vend-ok');
    expect(info.body.scope?.split(' ')).toContain(DRIVE_APPDATA);
    expect(token.scopes).toContain(DRIVE_APPDATA);
    expect(Date.parse(token.expiresAt) - Date.now()).toBeGreaterThan(300_000);
    expect(token.expiresAt).toBe(new Date(Date.parse(token.expiresAt)).toISOString());
  });

  it('serves the cached token within its validity without calling Google, and stores it only as ciphertext', async () => {
    await signIn('vend-cached');
    const first = asToken(await getToken({ userId: 'vend-cached' }));
    stack.google.clearRequests();

    const second = asToken(await getToken({ userId: 'vend-cached', minValiditySeconds: 600 }));
    expect(second).toEqual(first);
    expect(stack.google.requests()).toEqual([]);

    const item = await dynamo.send(
      new GetItemCommand({ TableName: stack.aws.tableName, Key: { pk: { S: 'ACCESS#vend-cached' } } }),
    );
    expect(JSON.stringify(item.Item)).not.toContain(first.accessToken);
    expect(Buffer.from(item.Item!.accessToken!.B!).toString('latin1')).not.toContain(first.accessToken);
    // Its own encryption context: the refresh-token cipher cannot open it.
    await expect(cipherOf(stack).decrypt(item.Item!.accessToken!.B!, 'vend-cached')).rejects.toThrow();
  });

  it('refreshes when the cached token has less than minValiditySeconds left', async () => {
    await signIn('vend-short');
    const first = asToken(await getToken({ userId: 'vend-short' }));
    stack.google.clearRequests();
    await expireCachedToken('vend-short');

    const second = asToken(await getToken({ userId: 'vend-short' }));
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(refreshGrants('vend-short')).toHaveLength(1);
    expect((await tokeninfo(second.accessToken)).status).toBe(200);
  });

  it('makes exactly one refresh at Google for 20 concurrent calls from 20 execution environments', async () => {
    await signIn('vend-twenty');
    asToken(await getToken({ userId: 'vend-twenty' }));
    await expireCachedToken('vend-twenty');
    stack.google.clearRequests();

    const environments: TokenVault[] = await Promise.all(Array.from({ length: 20 }, () => buildTokenVault()));
    const results = await Promise.all(
      environments.map((vault, i) => vault.answer({ userId: 'vend-twenty' }, `req-${i}`)),
    );
    answers.push(...results);

    const tokens = results.map(asToken);
    expect(new Set(tokens.map((token) => token.accessToken)).size).toBe(1);
    expect(refreshGrants('vend-twenty')).toHaveLength(1);
    expect((await tokeninfo(tokens[0]!.accessToken)).status).toBe(200);
  }, 60_000);

  it('makes exactly one refresh for 20 concurrent calls into one execution environment', async () => {
    await signIn('vend-one-env');
    asToken(await getToken({ userId: 'vend-one-env' }));
    await expireCachedToken('vend-one-env');
    stack.google.clearRequests();

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => getToken({ userId: 'vend-one-env' }, `r${i}`)),
    );
    expect(new Set(results.map((answer) => asToken(answer).accessToken)).size).toBe(1);
    expect(refreshGrants('vend-one-env')).toHaveLength(1);
  });

  describe('refusals', () => {
    it('answers not_connected for a user never seen, without calling Google', async () => {
      stack.google.clearRequests();
      expect(await getToken({ userId: 'never-seen' })).toEqual({
        error: 'not_connected',
        message: expect.any(String),
      });
      expect(stack.google.requests()).toEqual([]);
    });

    it('answers needs_reconnect (revoked) when Google says invalid_grant, marks the user as the worker does, then refuses without Google', async () => {
      await signIn('vend-revoked');
      stack.google.revokeUser('vend-revoked');
      stack.google.clearRequests();

      expect(await getToken({ userId: 'vend-revoked' })).toEqual({
        error: 'needs_reconnect',
        reason: 'revoked',
        message: expect.any(String),
      });
      const record = await store.getUser('vend-revoked');
      expect(record).toMatchObject({ status: 'revoked', revokedReason: expect.stringMatching(/^invalid_grant/) });
      expect(record?.refreshToken).toBeUndefined();
      // Google saw one refresh grant, answered invalid_grant (the revoked token no longer names its user).
      expect(
        stack.google
          .requests()
          .filter((entry) => entry.endpoint === 'token')
          .map((entry) => entry.status),
      ).toEqual([400]);

      stack.google.clearRequests();
      expect(await getToken({ userId: 'vend-revoked' })).toMatchObject({ error: 'needs_reconnect', reason: 'revoked' });
      expect(stack.google.requests()).toEqual([]);
    });

    it('answers scope_not_granted for a scope the user did not grant, without calling Google', async () => {
      await signIn('vend-scope', [DRIVE_APPDATA, 'openid', 'email']);
      stack.google.clearRequests();
      const answer = await getToken({ userId: 'vend-scope', scopes: [DRIVE_APPDATA, DRIVE_FILE] });
      expect(answer).toEqual({ error: 'scope_not_granted', message: expect.stringContaining(DRIVE_FILE) });
      expect(stack.google.requests()).toEqual([]);
    });

    it('answers upstream_unavailable when Google is down, and leaves the user connected', async () => {
      await signIn('vend-down');
      stack.google.injectFault({ endpoint: 'token', kind: 503, count: 5, sub: 'vend-down' });
      expect(await getToken({ userId: 'vend-down' })).toEqual({
        error: 'upstream_unavailable',
        message: expect.any(String),
      });
      expect((await store.getUser('vend-down'))?.status).toBe('active');
      stack.google.clearFaults();
      asToken(await getToken({ userId: 'vend-down' }));
    });

    it.each([
      ['no userId', {}],
      ['an empty userId', { userId: '' }],
      ['scopes that are not strings', { userId: 'u', scopes: [1] }],
      ['a negative minValiditySeconds', { userId: 'u', minValiditySeconds: -1 }],
      ['a minValiditySeconds beyond half an hour', { userId: 'u', minValiditySeconds: 3600 }],
      ['not an object', 'u'],
    ])('answers invalid_request for %s', async (_, event) => {
      expect(await getToken(event)).toEqual({ error: 'invalid_request', message: expect.any(String) });
    });
  });

  describe('rotated refresh tokens', () => {
    it('stores a refresh token Google rotated on this path, and uses it next', async () => {
      await signIn('vend-rotated');
      const before = await storedRefreshToken(stack, store, 'vend-rotated');
      stack.google.rotateRefreshTokenOnNextRefresh('vend-rotated');
      asToken(await getToken({ userId: 'vend-rotated' }));
      const after = await storedRefreshToken(stack, store, 'vend-rotated');
      expect(after).not.toBe(before);

      // The old token is retired at Google: the next refresh works only with the stored new one.
      await expireCachedToken('vend-rotated');
      stack.google.clearRequests();
      asToken(await getToken({ userId: 'vend-rotated' }));
      expect(refreshGrants('vend-rotated').map((entry) => entry.status)).toEqual([200]);
      expect((await store.getUser('vend-rotated'))?.status).toBe('active');
    });

    it('keeps a rotated refresh token whose store failed, and stores and uses it on the next refresh', async () => {
      await signIn('vend-rotation-lost');
      const before = await storedRefreshToken(stack, store, 'vend-rotation-lost');
      const { googleServices } = await import('../../lib/runtime/google');
      let failStores = 10;
      // The table refuses the write (through the store port), whatever the retries.
      const flakyStore = {
        replaceRefreshToken: (...args: Parameters<DynamoUserStore['replaceRefreshToken']>) =>
          failStores-- > 0
            ? Promise.reject(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }))
            : store.replaceRefreshToken(...args),
        markRevoked: store.markRevoked.bind(store),
      };
      const grants = new GrantRefresher({
        store: flakyStore,
        cipher: cipherOf(stack),
        oauth: (await googleServices()).oauth,
      });
      const environment = await buildTokenVault({ grants });

      stack.google.rotateRefreshTokenOnNextRefresh('vend-rotation-lost');
      const token = asToken(await environment.answer({ userId: 'vend-rotation-lost' }));
      expect((await tokeninfo(token.accessToken)).status).toBe(200);
      expect(await storedRefreshToken(stack, store, 'vend-rotation-lost')).toBe(before);
      expect(grants.hasPendingRotation('vend-rotation-lost')).toBe(true);

      failStores = 0;
      await expireCachedToken('vend-rotation-lost');
      stack.google.clearRequests();
      asToken(await environment.answer({ userId: 'vend-rotation-lost' }));
      expect(await storedRefreshToken(stack, store, 'vend-rotation-lost')).not.toBe(before);
      expect(grants.hasPendingRotation('vend-rotation-lost')).toBe(false);
      // The grant used the kept token: the retired one would have been invalid_grant.
      expect(refreshGrants('vend-rotation-lost').map((entry) => entry.status)).toEqual([200]);
      expect((await store.getUser('vend-rotation-lost'))?.status).toBe('active');
    });
  });

  it('logs every answer for audit with user, scopes, outcome and request id, and never a token or secret', async () => {
    await signIn('vend-audit');
    await getToken({ userId: 'vend-audit', scopes: [DRIVE_APPDATA] }, 'audit-request-1');
    const lines = logs
      .text()
      .split('\n')
      .filter((line) => line.includes('audit-request-1'));
    const audit = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => l.message === 'access token vended');
    expect(audit).toMatchObject({
      userId: 'vend-audit',
      scopes: [DRIVE_APPDATA],
      outcome: 'refreshed',
      requestId: 'audit-request-1',
    });

    const output = logs.text();
    for (const secret of stack.google.issuedSecrets()) expect(output).not.toContain(secret);
    const refusals = JSON.stringify(answers.filter((answer) => 'error' in answer));
    for (const secret of stack.google.issuedSecrets()) expect(refusals).not.toContain(secret);
    expect(refusals).not.toMatch(/stack|at Object\.|\.ts:\d+/);
  });
});
