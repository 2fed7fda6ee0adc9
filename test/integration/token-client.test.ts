/**
 * The typed client end to end: the real `@aws-sdk/client-lambda` over HTTP to the local
 * Lambda Invoke endpoint (AWS_ENDPOINT_URL_LAMBDA), which runs the real token handler over
 * DynamoDB, KMS and the Google emulator; then the README's example job lists a user's Drive
 * app data with the token.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { AccessTokenClient as AccessTokenClientClass } from '../../lib/client';
import type { LocalService } from '../../local/aws/local-service';
import type { HttpApi } from '../../local/http-api';
import { captureOutput, signIn, type LogCapture } from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const FUNCTION_NAME = 'google-offline-access-token';

let stack: TestStack;
let api: HttpApi;
let invoke: LocalService;
let logs: LogCapture;
let lambda: LambdaClient;
let client: AccessTokenClientClass;
let clientModule: typeof import('../../lib/client');

beforeAll(async () => {
  logs = captureOutput();
  stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  const token = await import('../../functions/token');
  const { startLambdaInvoke } = await import('../../local/lambda-invoke');
  api = await stack.serve({ 'POST /authcode': exchange.handler });
  invoke = await startLambdaInvoke({ [FUNCTION_NAME]: token.handler });
  process.env.AWS_ENDPOINT_URL_LAMBDA = invoke.url;
  clientModule = await import('../../lib/client');
  lambda = new LambdaClient({});
  client = new clientModule.AccessTokenClient({
    functionName: `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION_NAME}`,
    lambda,
  });
});

afterAll(async () => {
  logs.restore();
  lambda.destroy();
  delete process.env.AWS_ENDPOINT_URL_LAMBDA;
  await invoke.close();
  await stack.close();
});

afterEach(() => stack.google.clearFaults());

describe('AccessTokenClient', () => {
  it('gets a token Google accepts, with a Date expiry', async () => {
    await signIn(stack, api, 'client-ok');
    const token = await client.getAccessToken({ userId: 'client-ok', scopes: [DRIVE_APPDATA] });
    expect(token.expiresAt).toBeInstanceOf(Date);
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now() + 300_000);
    expect(token.scopes).toContain(DRIVE_APPDATA);
    const info = await fetch(`${stack.google.url}/tokeninfo?access_token=${encodeURIComponent(token.accessToken)}`);
    expect(info.status).toBe(200);
  });

  it('turns each error answer into its typed error', async () => {
    const { NotConnectedError, NeedsReconnectError, ScopeNotGrantedError, TokenServiceUnavailableError } = clientModule;
    await expect(client.getAccessToken({ userId: 'client-unknown' })).rejects.toBeInstanceOf(NotConnectedError);

    await signIn(stack, api, 'client-scope', { scopes: [DRIVE_APPDATA, 'openid'] });
    await expect(
      client.getAccessToken({ userId: 'client-scope', scopes: ['https://www.googleapis.com/auth/drive'] }),
    ).rejects.toBeInstanceOf(ScopeNotGrantedError);

    await signIn(stack, api, 'client-down');
    stack.google.injectFault({ endpoint: 'token', kind: 500, count: 5, sub: 'client-down' });
    const unavailable = await client.getAccessToken({ userId: 'client-down' }).catch((error: unknown) => error);
    expect(unavailable).toBeInstanceOf(TokenServiceUnavailableError);
    expect((unavailable as InstanceType<typeof TokenServiceUnavailableError>).retryable).toBe(true);

    await signIn(stack, api, 'client-revoked');
    stack.google.revokeUser('client-revoked');
    const revoked = await client.getAccessToken({ userId: 'client-revoked' }).catch((error: unknown) => error);
    expect(revoked).toBeInstanceOf(NeedsReconnectError);
    expect(revoked).toMatchObject({ code: 'needs_reconnect', reason: 'revoked', userId: 'client-revoked' });
  });

  it('rejects a bad request with InvalidTokenRequestError', async () => {
    await expect(client.getAccessToken({ userId: 'x', minValiditySeconds: 99_999 })).rejects.toBeInstanceOf(
      clientModule.InvalidTokenRequestError,
    );
  });

  it('reports an unknown function as an AccessTokenError, not a crash', async () => {
    const wrong = new clientModule.AccessTokenClient({ functionName: 'no-such-function', lambda });
    await expect(wrong.getAccessToken({ userId: 'client-ok' })).rejects.toMatchObject({
      name: 'AccessTokenError',
      code: 'internal_error',
    });
  });
});

describe('the README example job', () => {
  it("lists the user's Drive app data with a token from the client", async () => {
    await signIn(stack, api, 'client-drive');
    stack.google.seedDriveFile('client-drive', { name: 'settings.json', size: 12 });
    stack.google.seedDriveFile('client-drive', { name: 'backup.db', size: 2048 });
    const { listAppData } = await import('../../examples/drive-appdata-job');

    const listing = await listAppData('client-drive', { tokens: client, rootUrl: stack.google.url });
    expect(listing.files.map((file) => file.name).sort()).toEqual(['backup.db', 'settings.json']);
    expect(await listAppData('client-unknown', { tokens: client })).toEqual({
      userId: 'client-unknown',
      skipped: 'not_connected',
      files: [],
    });
  });
});
