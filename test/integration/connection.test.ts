/**
 * GET /connection end to end: the real handlers (exchange, connection, disconnect) behind the
 * local HTTP API with CORS as a web deployment sets it, against the Google emulator, KMS and
 * DynamoDB — no mocks. Also the redirectUri field of POST /authcode, which web apps send.
 */
import { randomBytes } from 'node:crypto';
import type { HttpApi } from '../../local/http-api';
import { startTestStack, type TestStack } from '../support/stack';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const WEB_ORIGIN = 'https://app.example.com';

let stack: TestStack;
let api: HttpApi;
/** Every body this suite received: none may hold a code or token the emulator issued. */
const bodies: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  const connection = await import('../../functions/connection');
  const disconnect = await import('../../functions/disconnect');
  api = await stack.serve(
    {
      'POST /authcode': exchange.handler,
      'GET /connection': connection.handler,
      'POST /disconnect': disconnect.handler,
    },
    { corsOrigins: [WEB_ORIGIN] },
  );
});

afterAll(async () => {
  const issued = stack.google.issuedSecrets();
  for (const body of bodies) for (const secret of issued) expect(body).not.toContain(secret);
  await stack.close();
});

async function request(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(`${api.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  bodies.push(text);
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, any>) : {},
  };
}

const connectionWith = (authorization?: string) =>
  request('GET', '/connection', authorization === undefined ? {} : { authorization });

const connectionOf = (sub: string) => connectionWith(`Bearer ${stack.google.signIdToken({ sub })}`);

async function signIn(sub: string, options: { scopes?: string[]; redirectUri?: string } = {}) {
  const { code } = stack.google.authorize({ sub, ...options });
  const body: Record<string, string> = { authCode: code };
  if (options.redirectUri !== undefined) body.redirectUri = options.redirectUri;
  return request(
    'POST',
    '/authcode',
    { 'x-requested-with': 'test', 'content-type': 'application/json' },
    JSON.stringify(body),
  );
}

describe('GET /connection', () => {
  it('answers not_connected, not an error, for a user never seen', async () => {
    expect(await connectionOf('7001')).toMatchObject({
      status: 200,
      body: {
        userId: '7001',
        status: 'not_connected',
        offlineAccess: false,
        grantedScopes: [],
        missingScopes: [DRIVE_APPDATA],
        lastRefreshAt: null,
        jobs: {},
      },
    });
  });

  it('answers active after a sign-in with every required scope, and holds no token', async () => {
    expect((await signIn('7002')).status).toBe(200);
    const response = await connectionOf('7002');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      userId: '7002',
      status: 'active',
      offlineAccess: true,
      grantedScopes: expect.arrayContaining([DRIVE_APPDATA, 'openid']),
      missingScopes: [],
      lastRefreshAt: null,
      jobs: {},
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('answers needs_reconnect / missing_scopes when the user unticked Drive', async () => {
    await signIn('7003', { scopes: ['openid', 'email', 'profile'] });
    expect((await connectionOf('7003')).body).toMatchObject({
      status: 'needs_reconnect',
      reason: 'missing_scopes',
      offlineAccess: false,
      missingScopes: [DRIVE_APPDATA],
    });
  });

  it('answers needs_reconnect / no_refresh_token when Google gave no refresh token', async () => {
    stack.google.authorize({ sub: '7004' }); // the first consent's code is never redeemed
    expect((await signIn('7004')).body).toMatchObject({ offlineAccess: false, reason: 'no_refresh_token' });
    expect((await connectionOf('7004')).body).toMatchObject({ status: 'needs_reconnect', reason: 'no_refresh_token' });
  });

  it('answers disconnected / user_disconnected after POST /disconnect, with no scopes left', async () => {
    await signIn('7005');
    const idToken = stack.google.signIdToken({ sub: '7005' });
    const disconnected = await request('POST', '/disconnect', {
      'x-requested-with': 'test',
      authorization: `Bearer ${idToken}`,
    });
    expect(disconnected.status).toBe(200);
    expect((await connectionOf('7005')).body).toMatchObject({
      status: 'disconnected',
      reason: 'user_disconnected',
      offlineAccess: false,
      grantedScopes: [],
      missingScopes: [DRIVE_APPDATA],
    });
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty bearer', 'Bearer '],
    ['a Basic credential', `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['a token that is not a JWT', 'Bearer not-a-jwt'],
  ])('answers 401 invalid_id_token for %s', async (_name, authorization) => {
    expect(await connectionWith(authorization)).toMatchObject({ status: 401, body: { error: 'invalid_id_token' } });
  });

  it('answers 401 for an expired, wrong-audience or tampered ID token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = stack.google.signIdToken({ sub: '7006', iat: now - 7200, exp: now - 3600 });
    const wrongAud = stack.google.signIdToken({ sub: '7006', aud: 'other.apps.googleusercontent.com' });
    const [header, payload, signature] = stack.google.signIdToken({ sub: '7006' }).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = [header, Buffer.from(JSON.stringify({ ...claims, sub: '7002' })).toString('base64url'), signature];
    for (const token of [expired, wrongAud, tampered.join('.')]) {
      expect(await connectionWith(`Bearer ${token}`)).toMatchObject({
        status: 401,
        body: { error: 'invalid_id_token', message: expect.any(String) },
      });
    }
  });

  it('never answers 5xx to a fuzzed Authorization header', async () => {
    const printable = (length: number) =>
      Array.from(randomBytes(length), (byte) => String.fromCharCode(0x21 + (byte % 94))).join('');
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const valid = stack.google.signIdToken({ sub: '7007' });
    const candidates = [
      ...Array.from({ length: 40 }, (_, i) => printable(1 + ((i * 37) % 300))),
      ...Array.from({ length: 40 }, (_, i) => `Bearer ${printable(1 + ((i * 53) % 2000))}`),
      ...Array.from({ length: 20 }, () => `Bearer ${printable(20)}.${printable(40)}.${printable(30)}`),
      `Bearer ${b64({ alg: 'none' })}.${b64({ sub: '7007' })}.`,
      `Bearer ${b64({ alg: 'HS256', kid: '../../etc/passwd' })}.${b64({ sub: '7007' })}.AAAA`,
      `Bearer ${b64({ alg: 'RS256', kid: 'x'.repeat(5000) })}.${b64({})}.AAAA`,
      `Bearer ${b64('a string')}.${b64([1, 2])}.${b64(null)}`,
      `Bearer ${valid}${valid}`,
      `Bearer ${valid.split('.').slice(0, 2).join('.')}`,
      `bearer     ${valid}   `,
      `Bearer ${'a'.repeat(7000)}`,
    ];
    const serverErrors: string[] = [];
    for (const authorization of candidates) {
      const response = await connectionWith(authorization);
      if (response.status >= 500) serverErrors.push(`${response.status} ${authorization}`);
    }
    expect(serverErrors).toEqual([]);
  });

  it('lets an allowed origin call it from a browser (preflight and answer), and no other', async () => {
    const preflight = await request('OPTIONS', '/connection', {
      origin: WEB_ORIGIN,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization,x-requested-with',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(WEB_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const answer = await request('GET', '/connection', {
      origin: WEB_ORIGIN,
      authorization: `Bearer ${stack.google.signIdToken({ sub: '7008' })}`,
    });
    expect(answer.headers.get('access-control-allow-origin')).toBe(WEB_ORIGIN);

    const elsewhere = await request('OPTIONS', '/connection', {
      origin: 'https://evil.example',
      'access-control-request-method': 'GET',
    });
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
    expect(elsewhere.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('POST /authcode redirectUri', () => {
  const tokenCalls = () => stack.google.requests().filter((entry) => entry.endpoint === 'token').length;

  it('redeems a web popup code with redirectUri "postmessage" on a stack configured for Android', async () => {
    expect(await signIn('7101', { redirectUri: 'postmessage' })).toMatchObject({
      status: 200,
      body: { userId: '7101', offlineAccess: true },
    });
  });

  it('redeems an Android code with redirectUri "" and, absent, with GOOGLE_REDIRECT_URI', async () => {
    expect((await signIn('7102', { redirectUri: '' })).body).toMatchObject({ offlineAccess: true });
    expect((await signIn('7103')).body).toMatchObject({ offlineAccess: true });
  });

  it('accepts the field form-encoded too', async () => {
    const { code } = stack.google.authorize({ sub: '7104', redirectUri: 'postmessage' });
    const response = await request(
      'POST',
      '/authcode',
      { 'x-requested-with': 'test', 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ authCode: code, redirectUri: 'postmessage' }).toString(),
    );
    expect(response).toMatchObject({ status: 200, body: { userId: '7104' } });
  });

  it('answers 400 invalid_grant when the code came from the other flow, as Google does', async () => {
    const web = stack.google.authorize({ sub: '7105', redirectUri: 'postmessage' }).code;
    const asAndroid = await request(
      'POST',
      '/authcode',
      { 'x-requested-with': 'test', 'content-type': 'application/json' },
      JSON.stringify({ authCode: web }),
    );
    expect(asAndroid).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await signIn('7106', { redirectUri: 'postmessage' })).status).toBe(200);
    const android = stack.google.authorize({ sub: '7107' }).code;
    const asWeb = await request(
      'POST',
      '/authcode',
      { 'x-requested-with': 'test', 'content-type': 'application/json' },
      JSON.stringify({ authCode: android, redirectUri: 'postmessage' }),
    );
    expect(asWeb).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it.each([['https://app.example.com/callback'], ['POSTMESSAGE'], [null], [42], [['postmessage']]])(
    'answers 400 invalid_request for redirectUri %j without calling Google',
    async (redirectUri) => {
      const before = tokenCalls();
      const { code } = stack.google.authorize({ sub: '7108', redirectUri: 'postmessage' });
      const response = await request(
        'POST',
        '/authcode',
        { 'x-requested-with': 'test', 'content-type': 'application/json' },
        JSON.stringify({ authCode: code, redirectUri }),
      );
      expect(response).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
      expect(tokenCalls()).toBe(before);
    },
  );
});
