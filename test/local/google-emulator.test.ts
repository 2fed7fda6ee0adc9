/**
 * The Google emulator's OAuth side, driven by the real google-auth-library OAuth2Client
 * over HTTP: code exchange, ID token verification, refresh, revocation, key rotation,
 * faults and the control API.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { GaxiosError } from 'gaxios';
import { ClientAuthentication, OAuth2Client, type Credentials } from 'google-auth-library';
import {
  clientSecretJson,
  DEFAULT_LOCAL_CLIENT,
  startGoogleEmulator,
  type EmulatorClient,
  type GoogleEmulator,
} from '../../local/google-emulator';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const USERINFO_EMAIL = 'https://www.googleapis.com/auth/userinfo.email';
const USERINFO_PROFILE = 'https://www.googleapis.com/auth/userinfo.profile';
const ANDROID_CLIENT = 'android-app.apps.googleusercontent.com';
const WEB_CLIENT: EmulatorClient = { clientId: 'web-client.apps.googleusercontent.com', clientSecret: 'web-secret' };

/** One emulator per describe block, so clock moves and faults stay local. */
function useEmulator(options: Parameters<typeof startGoogleEmulator>[0] = {}): () => GoogleEmulator {
  let emulator: GoogleEmulator | undefined;
  beforeAll(async () => {
    emulator = await startGoogleEmulator({ clients: [WEB_CLIENT], ...options });
  });
  afterAll(() => emulator?.close());
  return () => emulator!;
}

/**
 * gaxios (under google-auth-library) dynamic-imports node-fetch unless given a fetch, and
 * Jest's CommonJS runtime cannot run dynamic imports: hand it Node's own fetch.
 */
const transporterOptions = { fetchImplementation: fetch };

function oauthClient(google: GoogleEmulator, client: EmulatorClient = DEFAULT_LOCAL_CLIENT): OAuth2Client {
  return new OAuth2Client({
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    transporterOptions,
    endpoints: {
      oauth2TokenUrl: `${google.url}/token`,
      oauth2RevokeUrl: `${google.url}/revoke`,
      oauth2FederatedSignonPemCertsUrl: `${google.url}/oauth2/v1/certs`,
      oauth2FederatedSignonJwkCertsUrl: `${google.url}/oauth2/v3/certs`,
      tokenInfoUrl: `${google.url}/tokeninfo`,
    },
  });
}

/** The OAuth error body of a rejected google-auth-library call. */
async function oauthFailure(call: Promise<unknown>): Promise<{ status?: number; body: unknown }> {
  const error: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GaxiosError)) throw new Error(`expected an HTTP error, got ${String(error)}`);
  return { status: error.response?.status, body: error.response?.data };
}

const kidOf = (jwt: string): unknown => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid;

const REVOKED = { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' };

describe('authorization code exchange', () => {
  const google = useEmulator();

  it('returns Google-shaped tokens whose ID token verifies against the emulator certs', async () => {
    const client = oauthClient(google());
    const { code } = google().authorize({ sub: '1001', azp: ANDROID_CLIENT, name: 'Ada Lovelace' });
    const { tokens } = await client.getToken(code);

    expect(code).toMatch(/^4\/0[\w-]+$/);
    expect(tokens.access_token).toMatch(/^ya29\./);
    expect(tokens.refresh_token).toMatch(/^1\/\/0/);
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.scope?.split(' ').sort()).toEqual([DRIVE_APPDATA, 'openid', USERINFO_EMAIL, USERINFO_PROFILE].sort());

    const ticket = await client.verifyIdToken({ idToken: tokens.id_token!, audience: DEFAULT_LOCAL_CLIENT.clientId });
    const payload = ticket.getPayload()!;
    expect(payload).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: DEFAULT_LOCAL_CLIENT.clientId,
      azp: ANDROID_CLIENT,
      sub: '1001',
      email_verified: true,
      name: 'Ada Lovelace',
    });
    expect(payload.exp - payload.iat).toBe(3600);
    const digest = createHash('sha256').update(tokens.access_token!).digest();
    expect(payload.at_hash).toBe(digest.subarray(0, 16).toString('base64url'));
    expect(kidOf(tokens.id_token!)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('rejects a verifyIdToken audience other than the server client', async () => {
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub: '1002' }).code);
    await expect(client.verifyIdToken({ idToken: tokens.id_token!, audience: 'someone-else' })).rejects.toThrow(
      /Wrong recipient/,
    );
  });

  it('redeems a code once: the second redemption is invalid_grant', async () => {
    const client = oauthClient(google());
    const { code } = google().authorize({ sub: '1003' });
    await client.getToken(code);
    expect(await oauthFailure(client.getToken(code))).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Bad Request' },
    });
  });

  it('calls a garbage code malformed', async () => {
    const failure = await oauthFailure(oauthClient(google()).getToken('not-a-code'));
    expect(failure.body).toEqual({ error: 'invalid_grant', error_description: 'Malformed auth code.' });
  });

  it('rejects a wrong client secret with 401 invalid_client', async () => {
    const { code } = google().authorize({ sub: '1004' });
    const client = oauthClient(google(), { ...DEFAULT_LOCAL_CLIENT, clientSecret: 'wrong' });
    expect(await oauthFailure(client.getToken(code))).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'Unauthorized' },
    });
  });

  it('accepts client authentication through HTTP Basic too', async () => {
    const client = new OAuth2Client({
      clientId: DEFAULT_LOCAL_CLIENT.clientId,
      clientSecret: DEFAULT_LOCAL_CLIENT.clientSecret,
      clientAuthentication: ClientAuthentication.ClientSecretBasic,
      transporterOptions,
      endpoints: { oauth2TokenUrl: `${google().url}/token` },
    });
    const { tokens } = await client.getToken(google().authorize({ sub: '1005' }).code);
    expect(tokens.access_token).toBeDefined();
  });

  it('binds a code to its redirect URI and its client', async () => {
    const android = google().authorize({ sub: '1006' }).code;
    const failure = await oauthFailure(oauthClient(google()).getToken({ code: android, redirect_uri: 'postmessage' }));
    expect(failure.body).toEqual({ error: 'invalid_grant', error_description: 'Bad Request' });

    const web = google().authorize({ sub: '1006', clientId: WEB_CLIENT.clientId, redirectUri: 'postmessage' }).code;
    const { tokens } = await oauthClient(google(), WEB_CLIENT).getToken({ code: web, redirect_uri: 'postmessage' });
    expect(tokens.access_token).toBeDefined();

    const forWeb = google().authorize({ sub: '1006', clientId: WEB_CLIENT.clientId }).code;
    expect((await oauthFailure(oauthClient(google()).getToken(forWeb))).body).toMatchObject({ error: 'invalid_grant' });
  });

  it('issues a refresh token on first consent and forced consent only', async () => {
    const client = oauthClient(google());
    const first = await client.getToken(google().authorize({ sub: '1007' }).code);
    const again = await client.getToken(google().authorize({ sub: '1007' }).code);
    const forced = await client.getToken(google().authorize({ sub: '1007', forceConsent: true }).code);
    expect(first.tokens.refresh_token).toBeDefined();
    expect(again.tokens.refresh_token).toBeUndefined();
    expect(forced.tokens.refresh_token).toBeDefined();
    expect(forced.tokens.refresh_token).not.toBe(first.tokens.refresh_token);
  });

  it('reports only the scopes the user granted, and leaves out claims their scopes do not cover', async () => {
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub: '1008', scopes: ['openid', 'email'] }).code);
    expect(tokens.scope).toBe(`openid ${USERINFO_EMAIL}`);
    const payload = (await client.verifyIdToken({ idToken: tokens.id_token! })).getPayload()!;
    expect(payload.email).toBe('1008@example.com');
    expect(payload.name).toBeUndefined();
  });

  it('omits the ID token when openid was not granted', async () => {
    const { tokens } = await oauthClient(google()).getToken(
      google().authorize({ sub: '1009', scopes: [DRIVE_APPDATA] }).code,
    );
    expect(tokens.id_token).toBeUndefined();
    expect(tokens.scope).toBe(DRIVE_APPDATA);
  });

  it.each([
    ['signature', { tamper: 'signature' }, /Invalid token signature/],
    ['unknown-kid', { tamper: 'unknown-kid' }, /No pem found/],
    ['alg-none', { tamper: 'alg-none' }, /No pem found|Invalid token signature/],
    ['claims', { claims: { aud: 'someone-else' } }, /Wrong recipient/],
  ] as const)('lets a code yield a broken ID token (%s) for verification tests', async (_name, idToken, message) => {
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub: '1011', idToken }).code);
    await expect(
      client.verifyIdToken({ idToken: tokens.id_token!, audience: DEFAULT_LOCAL_CLIENT.clientId }),
    ).rejects.toThrow(message);
  });

  it('answers tokeninfo for access tokens and ID tokens', async () => {
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub: '1010' }).code);
    const info = await client.getTokenInfo(tokens.access_token!);
    expect(info).toMatchObject({ sub: '1010', aud: DEFAULT_LOCAL_CLIENT.clientId, email: '1010@example.com' });
    expect(info.scopes).toContain(DRIVE_APPDATA);
    const response = await fetch(`${google().url}/tokeninfo?id_token=${tokens.id_token}`);
    expect(await response.json()).toMatchObject({ sub: '1010', email_verified: 'true', alg: 'RS256' });
  });

  it('renders the client secret file the console downloads', () => {
    expect(JSON.parse(clientSecretJson(DEFAULT_LOCAL_CLIENT))).toEqual({
      web: {
        client_id: DEFAULT_LOCAL_CLIENT.clientId,
        client_secret: DEFAULT_LOCAL_CLIENT.clientSecret,
        project_id: 'local-emulator',
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: 'https://oauth2.googleapis.com/token',
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
        redirect_uris: ['', 'postmessage'],
      },
    });
  });
});

describe('the emulator clock', () => {
  const google = useEmulator();

  it('expires codes after ten minutes', async () => {
    const { code } = google().authorize({ sub: '2001' });
    google().advanceClock(601);
    expect((await oauthFailure(oauthClient(google()).getToken(code))).body).toEqual({
      error: 'invalid_grant',
      error_description: 'Bad Request',
    });
  });

  it('expires access tokens after an hour', async () => {
    const { tokens } = await oauthClient(google()).getToken(google().authorize({ sub: '2002' }).code);
    expect(google().tokenState('2002').accessTokenCount).toBe(1);
    google().advanceClock(3600);
    expect(google().tokenState('2002').accessTokenCount).toBe(0);
    const info = await fetch(`${google().url}/tokeninfo?access_token=${tokens.access_token}`);
    expect(info.status).toBe(400);
  });

  it('keeps real time in signed tokens, so they still verify after the clock moved', async () => {
    google().advanceClock(3600);
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub: '2003' }).code);
    await expect(
      client.verifyIdToken({ idToken: tokens.id_token!, audience: DEFAULT_LOCAL_CLIENT.clientId }),
    ).resolves.toBeDefined();
  });
});

describe('refresh and revocation', () => {
  const google = useEmulator();

  async function signedInClient(sub: string): Promise<OAuth2Client> {
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub }).code);
    client.setCredentials(tokens);
    return client;
  }

  it('refreshes the access token with the granted scopes and a new ID token', async () => {
    const client = await signedInClient('3001');
    const before = client.credentials.access_token;
    const { credentials } = await client.refreshAccessToken();
    expect(credentials.access_token).not.toBe(before);
    expect(credentials.scope).toContain(DRIVE_APPDATA);
    const payload = (
      await client.verifyIdToken({ idToken: credentials.id_token!, audience: DEFAULT_LOCAL_CLIENT.clientId })
    ).getPayload();
    expect(payload?.azp).toBe(DEFAULT_LOCAL_CLIENT.clientId);
  });

  it('stops refreshing after revokeUser', async () => {
    const client = await signedInClient('3002');
    expect(google().tokenState('3002')).toEqual({ accessTokenCount: 1, refreshTokenActive: true });
    expect(google().revokeUser('3002')).toBe(1);
    expect(google().tokenState('3002')).toEqual({ accessTokenCount: 0, refreshTokenActive: false });
    expect(await oauthFailure(client.refreshAccessToken())).toEqual({ status: 400, body: REVOKED });
  });

  it('revokes the whole grant when /revoke gets the access token', async () => {
    const client = await signedInClient('3003');
    await client.revokeToken(client.credentials.access_token!);
    expect(await oauthFailure(client.refreshAccessToken())).toEqual({ status: 400, body: REVOKED });
    expect(await oauthFailure(client.revokeToken(client.credentials.refresh_token!))).toEqual({
      status: 400,
      body: { error: 'invalid_token', error_description: 'Token expired or revoked' },
    });
  });

  it('issues a refresh token again after a revoked grant', async () => {
    await (await signedInClient('3004')).revokeToken((await signedInClient('3004')).credentials.access_token!);
    const { tokens } = await oauthClient(google()).getToken(google().authorize({ sub: '3004' }).code);
    expect(tokens.refresh_token).toBeDefined();
  });

  it('rotates the refresh token when asked, retiring the old one', async () => {
    const client = await signedInClient('3005');
    const old = client.credentials.refresh_token!;
    expect(google().rotateRefreshTokenOnNextRefresh('3005')).toBe(1);
    // refreshAccessToken() overwrites a rotated refresh token with the old one (even in
    // res.data); only the 'tokens' event sees what Google sent.
    let rotated: string | undefined;
    client.once('tokens', (tokens: Credentials) => {
      rotated = tokens.refresh_token ?? undefined;
    });
    const { credentials } = await client.refreshAccessToken();
    expect(credentials.refresh_token).toBe(old);
    expect(rotated).toMatch(/^1\/\//);
    expect(rotated).not.toBe(old);
    expect(await oauthFailure(client.refreshAccessToken())).toEqual({ status: 400, body: REVOKED });
    client.setCredentials({ refresh_token: rotated });
    await expect(client.refreshAccessToken()).resolves.toBeDefined();
  });
});

describe('refusals by cause (what the refresh worker classifies)', () => {
  const google = useEmulator();

  async function signedInClient(sub: string): Promise<OAuth2Client> {
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub, forceConsent: true }).code);
    client.setCredentials(tokens);
    return client;
  }

  it('answers invalid_rapt with Google’s reauth body, until the user consents again', async () => {
    const client = await signedInClient('3101');
    expect(google().failRefreshes('3101', 'invalid_rapt')).toBe(1);
    expect(await oauthFailure(client.refreshAccessToken())).toEqual({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: 'reauth related error (invalid_rapt)',
        error_uri: 'https://support.google.com/a/answer/9368756',
        error_subtype: 'invalid_rapt',
      },
    });
    const again = await signedInClient('3101');
    await expect(again.refreshAccessToken()).resolves.toBeDefined();
  });

  it('answers a Workspace admin’s block with admin_policy_enforced', async () => {
    const client = await signedInClient('3102');
    google().failRefreshes('3102', 'admin_policy_enforced');
    const failure = await oauthFailure(client.refreshAccessToken());
    expect(failure.status).toBe(400);
    expect(failure.body).toMatchObject({ error: 'admin_policy_enforced' });
  });

  it('refuses one refresh token by value, leaving the user’s others alone', async () => {
    const first = await signedInClient('3103');
    const second = await signedInClient('3103');
    expect(google().failRefreshToken(first.credentials.refresh_token!, 'revoked')).toBe(true);
    expect(await oauthFailure(first.refreshAccessToken())).toEqual({ status: 400, body: REVOKED });
    await expect(second.refreshAccessToken()).resolves.toBeDefined();
    expect(google().failRefreshToken('1//unknown', 'revoked')).toBe(false);
  });

  it('in Testing mode, expires a refresh token 7 days (emulator clock) after it was issued', async () => {
    google().setPublishingStatus('testing');
    try {
      const client = await signedInClient('3104');
      google().advanceClock(6 * 24 * 3600);
      await expect(client.refreshAccessToken()).resolves.toBeDefined();
      google().advanceClock(24 * 3600);
      expect(await oauthFailure(client.refreshAccessToken())).toEqual({ status: 400, body: REVOKED });
      expect(google().tokenState('3104').refreshTokenActive).toBe(false);
    } finally {
      google().setPublishingStatus('production');
    }
  });

  it('is controlled over HTTP too', async () => {
    const client = await signedInClient('3105');
    const post = (path: string, body: unknown) =>
      fetch(`${google().url}/emulator${path}`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post('/users/3105/refresh-failure', { cause: 'nonsense' })).status).toBe(400);
    expect(await (await post('/users/3105/refresh-failure', { cause: 'invalid_rapt' })).json()).toEqual({ grants: 1 });
    expect((await oauthFailure(client.refreshAccessToken())).body).toMatchObject({ error_subtype: 'invalid_rapt' });
    expect((await post('/clients/publishing-status', { status: 'testing' })).status).toBe(200);
    expect((await post('/clients/publishing-status', { status: 'production' })).status).toBe(200);
    expect((await post('/refresh-tokens/failure', { refreshToken: '1//x', cause: 'revoked' })).status).toBe(400);
  });
});

describe('signing keys', () => {
  const google = useEmulator({ certsMaxAgeSeconds: 0 });

  it('serves each kid as an X.509 certificate and as a JWK, cacheable like Google', async () => {
    const response = await fetch(`${google().url}/oauth2/v1/certs`);
    expect(response.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate, no-transform');
    expect(response.headers.get('expires')).toBeTruthy();
    const certs = (await response.json()) as Record<string, string>;
    const jwks = (await (await fetch(`${google().url}/oauth2/v3/certs`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual(Object.keys(certs));
    const certificate = new X509Certificate(Object.values(certs)[0]!);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
  });

  it('signs with the new key after rotation, keeping the old one published unless dropped', async () => {
    const client = oauthClient(google());
    const published = async () =>
      Object.keys((await (await fetch(`${google().url}/oauth2/v1/certs`)).json()) as Record<string, string>);
    const [oldKid] = await published();
    const { kid } = await google().rotateKeys();
    const { tokens } = await client.getToken(google().authorize({ sub: '4001' }).code);
    await client.verifyIdToken({ idToken: tokens.id_token!, audience: DEFAULT_LOCAL_CLIENT.clientId });
    expect(kidOf(tokens.id_token!)).toBe(kid);
    expect(await published()).toEqual([oldKid, kid]);
    await google().rotateKeys({ dropOld: true });
    expect(await published()).toHaveLength(1);
  });

  it('signs test ID tokens with claim overrides', async () => {
    const client = oauthClient(google());
    const idToken = google().signIdToken({ sub: '4002', email: 'ada@example.com' });
    const payload = (await client.verifyIdToken({ idToken, audience: DEFAULT_LOCAL_CLIENT.clientId })).getPayload();
    expect(payload).toMatchObject({ sub: '4002', email: 'ada@example.com', iss: 'https://accounts.google.com' });
    const foreign = google().signIdToken({ sub: '4002', iss: 'https://evil.example' });
    await expect(client.verifyIdToken({ idToken: foreign })).rejects.toThrow(/Invalid issuer/);
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = google().signIdToken({ sub: '4002', iat: past });
    await expect(client.verifyIdToken({ idToken: expired })).rejects.toThrow(/Token used too late/);
  });
});

describe('fault injection', () => {
  const google = useEmulator();
  afterEach(() => {
    google().clearFaults();
    google().clearRequests();
  });

  it('answers one 500 and recovers; the library retries and the code is redeemed once', async () => {
    google().injectFault({ endpoint: 'token', kind: 500 });
    const { tokens } = await oauthClient(google()).getToken(google().authorize({ sub: '5001' }).code);
    expect(tokens.access_token).toBeDefined();
    const statuses = google()
      .requests()
      .filter((entry) => entry.endpoint === 'token')
      .map((entry) => [entry.status, entry.fault]);
    expect(statuses).toEqual([
      [500, 500],
      [200, undefined],
    ]);
  });

  it('speaks Google error bodies for injected statuses', async () => {
    google().injectFault({ endpoint: 'drive', kind: 429 });
    const response = await fetch(`${google().url}/drive/v3/files`);
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  });

  it('resets connections; with more resets than retries the call fails', async () => {
    google().injectFault({ endpoint: 'token', kind: 'reset', count: 3 });
    const code = google().authorize({ sub: '5002' }).code;
    const error: unknown = await oauthClient(google())
      .getToken(code)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GaxiosError);
    expect((error as GaxiosError).response).toBeUndefined();
    const { tokens } = await oauthClient(google()).getToken(code);
    expect(tokens.access_token).toBeDefined();
  });

  it('faults only the requests concerning one user when sub is given', async () => {
    const signedIn = async (sub: string) => {
      const client = oauthClient(google());
      client.setCredentials((await client.getToken(google().authorize({ sub }).code)).tokens);
      // No retries, so one injected 503 is one failure. `retry: false` alone is not enough:
      // google-auth-library sets a retryConfig, which gaxios then obeys (3 retries).
      client.transporter.interceptors.request.add({
        resolved: (config) => Promise.resolve({ ...config, retryConfig: { retry: 0 } }),
      });
      return client;
    };
    const [mine, theirs] = [await signedIn('5003'), await signedIn('5004')];
    google().injectFault({ endpoint: 'token', kind: 503, sub: '5003' });
    await expect(theirs.refreshAccessToken()).resolves.toBeDefined();
    const failure = await oauthFailure(mine.refreshAccessToken());
    expect(failure).toEqual({
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: 'The service is currently unavailable.' },
    });
  });

  it('holds a hung request open until close', async () => {
    const local = await startGoogleEmulator();
    local.injectFault({ endpoint: 'certs', kind: 'hang' });
    const pending = fetch(`${local.url}/oauth2/v1/certs`).then(
      () => 'answered',
      () => 'ended',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await local.close();
    expect(await pending).toBe('ended');
  });
});

describe('control API over HTTP', () => {
  const google = useEmulator();
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${google().url}/emulator${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('authorizes, registers clients, injects faults and moves the clock', async () => {
    expect(await post('/clients', { clientId: 'ios.apps.googleusercontent.com', clientSecret: 's' })).toEqual({
      status: 200,
      body: {},
    });
    const { body } = await post('/authorize', { sub: '6001', clientId: 'ios.apps.googleusercontent.com' });
    expect(body.code).toMatch(/^4\//);
    expect((await post('/faults', { endpoint: 'nowhere', kind: 500 })).status).toBe(400);
    expect((await post('/faults', { endpoint: 'revoke', kind: 503 })).status).toBe(200);
    const { now } = (await post('/clock', { advanceSeconds: 60 })).body;
    expect(Date.parse(String(now)) - Date.now()).toBeGreaterThan(59_000);
    expect((await post('/authorize', { clientId: 'x' })).body).toMatchObject({ error: { code: 400 } });
  });

  it('answers unknown paths with a Google-style 404', async () => {
    const response = await fetch(`${google().url}/nothing/here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it('never puts a code or token value in the request log', async () => {
    const client = oauthClient(google());
    const { tokens } = await client.getToken(google().authorize({ sub: '6002' }).code);
    await client.revokeToken(tokens.access_token!);
    const log = JSON.stringify(await (await fetch(`${google().url}/emulator/requests`)).json());
    expect(log).toContain('"sub":"6002"');
    const issued = google().issuedSecrets();
    expect(issued).toEqual(expect.arrayContaining([tokens.access_token, tokens.refresh_token, tokens.id_token]));
    for (const secret of issued) expect(log).not.toContain(secret);
  });
});
