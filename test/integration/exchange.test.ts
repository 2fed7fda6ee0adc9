/**
 * POST /authcode end to end: the real handler behind the local HTTP API, the Google
 * emulator, KMS and DynamoDB (in-process emulators, or moto) — no mocked clients.
 */
import { ScanCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OAuth2Client } from 'google-auth-library';
import type { HttpApi } from '../../local/http-api';
import { captureOutput, cipherOf, errorLines, type LogCapture } from '../support/steps';
import { REJECTED_ID_TOKENS } from '../support/id-token-cases';
import { startTestStack, type TestStack } from '../support/stack';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const ANDROID_CLIENT = 'android-app.apps.googleusercontent.com';

let stack: TestStack;
let api: HttpApi;
let logs: LogCapture;
/** Every code, token and secret this suite saw produced: none may appear in a table item or log line. */
const secrets = new Set<string>();

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  logs = captureOutput();
  stack = await startTestStack({ allowedAzp: [ANDROID_CLIENT] });
  const { handler } = await import('../../functions/exchange');
  api = await stack.serve({ 'POST /authcode': handler });
  secrets.add(stack.google.clientSecret(stack.clientId));
});

afterAll(async () => {
  logs.restore();
  await stack.close();
});

function codeFor(sub: string, options: Record<string, unknown> = {}): string {
  const { code } = stack.google.authorize({ sub, azp: ANDROID_CLIENT, email: `${sub}@example.com`, ...options });
  secrets.add(code);
  return code;
}

async function postCode(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}/authcode`, {
    method: 'POST',
    headers: { 'x-requested-with': 'com.example.app', 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

const form = (code: string) => new URLSearchParams({ authCode: code }).toString();

async function rawItems(): Promise<Record<string, any>[]> {
  const dynamo = new DynamoDBClient({});
  const out = await dynamo.send(new ScanCommand({ TableName: stack.aws.tableName }));
  dynamo.destroy();
  return out.Items ?? [];
}

async function userItem(sub: string) {
  return (await rawItems()).find((item) => item.pk?.S === `USER#${sub}`);
}

const cipher = () => cipherOf(stack);

async function storedRefreshToken(sub: string): Promise<string> {
  const item = await userItem(sub);
  const token = await cipher().decrypt(item!.refreshToken.B, sub);
  secrets.add(token);
  return token;
}

const tokenRequests = () =>
  stack.google.requests().filter((entry: any) => entry.endpoint === 'token' && entry.grantType === 'authorization_code')
    .length;

describe('POST /authcode', () => {
  it('redeems a form-encoded code, stores the refresh token encrypted and returns the profile', async () => {
    const response = await postCode(
      form(codeFor('1001', { name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' })),
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      userId: '1001',
      email: '1001@example.com',
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
      missingScopes: [],
      offlineAccess: true,
    });
    expect(response.body.grantedScopes).toContain(DRIVE_APPDATA);
    expect(response.body).not.toHaveProperty('reason');
    const item = await userItem('1001');
    expect(item!.status.S).toBe('active');
    expect(item!.refreshToken.B).toBeInstanceOf(Uint8Array);
    expect(await storedRefreshToken('1001')).toMatch(/\S{10,}/);
    expect(item!.tokenHash.S).toBeTruthy();
    expect(item!.tokenPrefixHash.S).toBeTruthy();
  });

  it('accepts a JSON body', async () => {
    const response = await postCode(JSON.stringify({ authCode: codeFor('1002') }), {
      'content-type': 'application/json',
    });
    expect(response.status).toBe(200);
    expect(response.body.userId).toBe('1002');
  });

  it('accepts a body API Gateway hands over base64-encoded', async () => {
    const { handler } = await import('../../functions/exchange');
    const code = codeFor('1003');
    const result = (await handler({
      version: '2.0',
      routeKey: 'POST /authcode',
      rawPath: '/authcode',
      rawQueryString: '',
      headers: { 'x-requested-with': 'app', 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form(code)).toString('base64'),
      isBase64Encoded: true,
      requestContext: {} as never,
    })) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).userId).toBe('1003');
  });

  it('refuses a request without X-Requested-With before calling Google', async () => {
    const before = tokenRequests();
    const response = await postCode(form(codeFor('1004')), { 'x-requested-with': '' });
    expect(response).toMatchObject({ status: 403, body: { error: 'csrf_header_missing' } });
    expect(tokenRequests()).toBe(before);
    expect(await userItem('1004')).toBeUndefined();
  });

  it.each([
    ['an empty body', 400, 'invalid_request', '', 'application/x-www-form-urlencoded'],
    ['an empty code', 400, 'invalid_request', 'authCode=', 'application/x-www-form-urlencoded'],
    ['no code field', 400, 'invalid_request', 'code=abc', 'application/x-www-form-urlencoded'],
    [
      'a code over 512 characters',
      400,
      'invalid_request',
      `authCode=${'a'.repeat(513)}`,
      'application/x-www-form-urlencoded',
    ],
    ['malformed JSON', 400, 'invalid_request', '{"authCode":', 'application/json'],
    [
      'a body over 8 KiB',
      413,
      'payload_too_large',
      `authCode=${'a'.repeat(9000)}`,
      'application/x-www-form-urlencoded',
    ],
    ['plain text', 415, 'unsupported_media_type', 'authCode=abc', 'text/plain'],
  ])('answers %s with %i %s', async (_what, status, error, body, contentType) => {
    const before = tokenRequests();
    const response = await postCode(body, { 'content-type': contentType });
    expect(response).toMatchObject({ status, body: { error } });
    expect(typeof response.body.message).toBe('string');
    expect(tokenRequests()).toBe(before);
  });

  it('answers 400 invalid_grant for a code Google does not know or that expired', async () => {
    expect(await postCode(form('4/not-a-real-code'))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const code = codeFor('1005');
    stack.google.advanceClock(11 * 60);
    expect(await postCode(form(code))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await userItem('1005')).toBeUndefined();
  });

  it('answers 503 with Retry-After when Google is unavailable, and the code still works afterwards', async () => {
    const code = codeFor('1006');
    stack.google.injectFault({ endpoint: 'token', kind: 503, count: 1 });
    const before = tokenRequests();
    const unavailable = await postCode(form(code));
    expect(unavailable).toMatchObject({ status: 503, body: { error: 'upstream_unavailable' } });
    expect(Number(unavailable.headers.get('retry-after'))).toBeGreaterThan(0);
    // Not retried automatically: Google saw exactly one attempt.
    expect(tokenRequests()).toBe(before + 1);
    expect(await postCode(form(code))).toMatchObject({ status: 200, body: { userId: '1006' } });
  });

  it('replays the same answer for a retried code, and Google sees the code once', async () => {
    const code = codeFor('1007');
    const before = tokenRequests();
    const first = await postCode(form(code));
    const again = await postCode(form(code));
    expect(first.status).toBe(200);
    expect(again).toEqual({ ...first, headers: again.headers });
    expect(tokenRequests()).toBe(before + 1);
  });

  it('redeems a code once when 20 copies arrive at the same time', async () => {
    const code = codeFor('1008');
    const before = tokenRequests();
    const responses = await Promise.all(Array.from({ length: 20 }, () => postCode(form(code))));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(tokenRequests()).toBe(before + 1);
  });

  it('keeps the stored ciphertext byte-identical on a repeat sign-in without a refresh token', async () => {
    await postCode(form(codeFor('1009', { name: 'Old Name' })));
    const before = await userItem('1009');
    const repeat = await postCode(form(codeFor('1009', { name: 'New Name' })));
    expect(repeat).toMatchObject({ status: 200, body: { name: 'New Name', offlineAccess: true } });
    const after = await userItem('1009');
    expect(Buffer.from(after!.refreshToken.B).equals(Buffer.from(before!.refreshToken.B))).toBe(true);
    expect(after!.tokenVersion).toEqual(before!.tokenVersion);
    expect(after!.name.S).toBe('New Name');
  });

  it('replaces the refresh token when a forced consent issues a new one', async () => {
    await postCode(form(codeFor('1010')));
    const first = await storedRefreshToken('1010');
    await postCode(form(codeFor('1010', { forceConsent: true })));
    const second = await storedRefreshToken('1010');
    expect(second).not.toBe(first);
  });

  it('reports no_refresh_token when Google returned none and nothing usable is stored', async () => {
    // The user consented before (the first code went elsewhere), so this sign-in brings no refresh token.
    const elsewhere = codeFor('1011');
    const other = new OAuth2Client({
      clientId: stack.clientId,
      clientSecret: stack.google.clientSecret(stack.clientId),
      endpoints: { oauth2TokenUrl: `${stack.google.url}/token` },
      transporterOptions: { fetchImplementation: fetch },
    });
    const { tokens } = await other.getToken({ code: elsewhere, redirect_uri: '' });
    for (const value of [tokens.access_token, tokens.refresh_token, tokens.id_token]) if (value) secrets.add(value);
    const response = await postCode(form(codeFor('1011')));
    expect(response).toMatchObject({ status: 200, body: { offlineAccess: false, reason: 'no_refresh_token' } });
    expect((await userItem('1011'))!.refreshToken).toBeUndefined();
  });

  it('reports missing_scopes when the user unticked Drive', async () => {
    const response = await postCode(form(codeFor('1012', { scopes: ['openid', 'email', 'profile'] })));
    expect(response).toMatchObject({
      status: 200,
      body: { offlineAccess: false, reason: 'missing_scopes', missingScopes: [DRIVE_APPDATA] },
    });
    expect(response.body.grantedScopes).not.toContain(DRIVE_APPDATA);
  });

  it('binds each ciphertext to its user: copied onto another user it does not decrypt', async () => {
    await postCode(form(codeFor('1013')));
    const item = await userItem('1013');
    await expect(cipher().decrypt(item!.refreshToken.B, '1014')).rejects.toThrow('does not authenticate');
  });

  it('leaves one consistent, decryptable record after concurrent exchanges for one user', async () => {
    const codes = Array.from({ length: 5 }, () => codeFor('1015', { forceConsent: true }));
    const responses = await Promise.all(codes.map((code) => postCode(form(code))));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const token = await storedRefreshToken('1015');
    const { riscTokenHash } = await import('../../lib/crypto/envelope');
    expect((await userItem('1015'))!.tokenHash.S).toBe(riscTokenHash(token));
  });

  describe('ID token verification', () => {
    it.each(REJECTED_ID_TOKENS)('rejects %s with 401 and stores nothing', async (_what, override) => {
      const sub = `bad-${Math.random().toString(36).slice(2)}`;
      const mark = logs.text().length;
      const response = await postCode(form(codeFor(sub, { idToken: override(stack.clientId) })));
      expect(response).toMatchObject({ status: 401, body: { error: 'invalid_id_token' } });
      expect(await userItem(sub)).toBeUndefined();
      expect(errorLines(logs.text().slice(mark))).toEqual([]);
    });

    it('rejects an azp that is not allowed with 401 and stores nothing', async () => {
      const sub = `bad-${Math.random().toString(36).slice(2)}`;
      const idToken = { claims: { azp: 'stranger.apps.googleusercontent.com' } };
      expect(await postCode(form(codeFor(sub, { idToken })))).toMatchObject({
        status: 401,
        body: { error: 'invalid_id_token' },
      });
      expect(await userItem(sub)).toBeUndefined();
    });

    it('accepts an aud array of trusted clients and an allowed azp', async () => {
      const response = await postCode(
        form(codeFor('1016', { idToken: { claims: { aud: [stack.clientId, ANDROID_CLIENT] } } })),
      );
      expect(response).toMatchObject({ status: 200, body: { userId: '1016' } });
    });

    const now = () => Math.floor(Date.now() / 1000);
    it.each([
      ['the issuer spelled without https://', () => ({ iss: 'accounts.google.com' })],
      ['an exp just past, within the 5 minutes of skew', () => ({ iat: now() - 3660, exp: now() - 60 })],
      ['an iat just ahead, within the 5 minutes of skew', () => ({ iat: now() + 120, exp: now() + 3720 })],
      ['a lifetime of exactly one day', () => ({ iat: now() - 10, exp: now() - 10 + 86_400 })],
    ])('accepts %s', async (_what, claims) => {
      const sub = `ok-${Math.random().toString(36).slice(2)}`;
      const response = await postCode(form(codeFor(sub, { idToken: { claims: claims() } })));
      expect(response).toMatchObject({ status: 200, body: { userId: sub } });
    });
  });

  it('answers 502 upstream_error when Google rejects our client (wrong secret)', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(await mkdtemp(join(tmpdir(), 'goa-')), 'client_secret.json');
    await writeFile(file, JSON.stringify({ web: { client_id: stack.clientId, client_secret: 'wrong-secret-value' } }));
    const previous = process.env.GOOGLE_CLIENT_SECRET_FILE;
    process.env.GOOGLE_CLIENT_SECRET_FILE = file;
    try {
      await jest.isolateModulesAsync(async () => {
        const { handler } = await import('../../functions/exchange');
        const code = codeFor('1017');
        const result = (await handler({
          headers: { 'x-requested-with': 'app', 'content-type': 'application/x-www-form-urlencoded' },
          body: form(code),
          isBase64Encoded: false,
        } as never)) as { statusCode: number; body: string };
        expect(result.statusCode).toBe(502);
        expect(JSON.parse(result.body).error).toBe('upstream_error');
        expect(result.body).not.toContain('wrong-secret-value');
      });
    } finally {
      process.env.GOOGLE_CLIENT_SECRET_FILE = previous;
    }
  });

  it('answers 500 internal_error when the KMS key does not exist, and stores nothing', async () => {
    const previous = process.env.KMS_KEY_ID;
    process.env.KMS_KEY_ID = 'alias/does-not-exist';
    try {
      await jest.isolateModulesAsync(async () => {
        const { handler } = await import('../../functions/exchange');
        const result = (await handler({
          headers: { 'x-requested-with': 'app', 'content-type': 'application/x-www-form-urlencoded' },
          body: form(codeFor('1018')),
          isBase64Encoded: false,
        } as never)) as { statusCode: number; body: string };
        expect(JSON.parse(result.body)).toEqual({ error: 'internal_error', message: 'Internal error' });
        expect(result.statusCode).toBe(500);
      });
    } finally {
      process.env.KMS_KEY_ID = previous;
    }
    expect(await userItem('1018')).toBeUndefined();
  });
});

describe('AWS throttling', () => {
  /** An AWS JSON endpoint that throttles every request, as DynamoDB or KMS do under pressure. */
  const throttlingEndpoint = async () => {
    const { createServer } = await import('node:http');
    const server = createServer((request, response) => {
      request.resume().on('end', () => {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      close: () => new Promise((resolve) => server.close(resolve)),
    };
  };

  const withEndpoint = async (variable: string, run: (exchange: (code: string) => Promise<any>) => Promise<void>) => {
    const previous = process.env[variable];
    const throttling = await throttlingEndpoint();
    process.env[variable] = throttling.url;
    try {
      await jest.isolateModulesAsync(async () => {
        const { handler } = await import('../../functions/exchange');
        await run(async (code) => {
          const result = (await handler({
            headers: { 'x-requested-with': 'app', 'content-type': 'application/x-www-form-urlencoded' },
            body: form(code),
            isBase64Encoded: false,
          } as never)) as { statusCode: number; headers: Record<string, string>; body: string };
          return { ...result, body: JSON.parse(result.body) };
        });
      });
    } finally {
      process.env[variable] = previous;
      await throttling.close();
    }
  };

  it('answers 503 with Retry-After when DynamoDB throttles, before calling Google', async () => {
    await withEndpoint('AWS_ENDPOINT_URL_DYNAMODB', async (exchange) => {
      const before = tokenRequests();
      const result = await exchange(codeFor('3001'));
      expect(result).toMatchObject({ statusCode: 503, body: { error: 'upstream_unavailable' } });
      expect(Number(result.headers['retry-after'])).toBeGreaterThan(0);
      expect(tokenRequests()).toBe(before);
    });
  });

  it('answers 503 when KMS throttles after Google redeemed the code, and never re-sends that code', async () => {
    await withEndpoint('AWS_ENDPOINT_URL_KMS', async (exchange) => {
      const code = codeFor('3002');
      const before = tokenRequests();
      expect(await exchange(code)).toMatchObject({ statusCode: 503, body: { error: 'upstream_unavailable' } });
      // The code is spent: a retry is told so, as Google would, without asking Google again.
      expect(await exchange(code)).toMatchObject({ statusCode: 400, body: { error: 'invalid_grant' } });
      expect(tokenRequests()).toBe(before + 1);
    });
    expect(await userItem('3002')).toBeUndefined();
  });
});

describe('Google signing keys', () => {
  const freshHandler = async () => {
    let handler: any;
    await jest.isolateModulesAsync(async () => {
      handler = (await import('../../functions/exchange')).handler;
    });
    return (code: string) =>
      handler({
        headers: { 'x-requested-with': 'app', 'content-type': 'application/x-www-form-urlencoded' },
        body: form(code),
        isBase64Encoded: false,
      }) as Promise<{ statusCode: number; body: string }>;
  };

  it('refetches the certificates once when a token names a new kid (keys rotate)', async () => {
    const exchange = await freshHandler();
    expect((await exchange(codeFor('2001'))).statusCode).toBe(200);
    await stack.google.rotateKeys();
    expect((await exchange(codeFor('2002'))).statusCode).toBe(200);
  });

  it('fails closed with 503 when the certificates cannot be fetched', async () => {
    const exchange = await freshHandler();
    stack.google.injectFault({ endpoint: 'certs', kind: 500, count: 5 });
    const result = await exchange(codeFor('2003'));
    stack.google.clearFaults();
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error).toBe('upstream_unavailable');
    expect(await userItem('2003')).toBeUndefined();
  });
});

describe('the whole suite', () => {
  it('never writes a token, code or secret to the table or the logs', async () => {
    for (const value of stack.google.issuedSecrets()) secrets.add(value);
    const stored = JSON.stringify(await rawItems(), (_key, value) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : value,
    );
    const logged = logs.text();
    expect(secrets.size).toBeGreaterThan(20);
    for (const secret of secrets) {
      expect(stored).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
  });
});
