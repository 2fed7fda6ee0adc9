/**
 * The Google emulator's Drive v3 subset, driven by the real @googleapis/drive client
 * (authorized by a google-auth-library OAuth2Client) over HTTP.
 */
import { drive, type drive_v3 } from '@googleapis/drive';
import { GaxiosError } from 'gaxios';
import { OAuth2Client, type Credentials } from 'google-auth-library';
import { DEFAULT_LOCAL_CLIENT, startGoogleEmulator, type GoogleEmulator } from '../../local/google-emulator';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const DRIVE_FILE = 'https://www.googleapis.com/auth/drive.file';
const FOLDER = 'application/vnd.google-apps.folder';

let google: GoogleEmulator;

beforeAll(async () => {
  google = await startGoogleEmulator();
});
afterAll(() => google.close());

/** Node's own fetch: gaxios would dynamic-import node-fetch, which Jest's CommonJS runtime cannot. */
function oauthClient(credentials: Credentials = {}): OAuth2Client {
  const client = new OAuth2Client({
    clientId: DEFAULT_LOCAL_CLIENT.clientId,
    clientSecret: DEFAULT_LOCAL_CLIENT.clientSecret,
    transporterOptions: { fetchImplementation: fetch },
    endpoints: { oauth2TokenUrl: `${google.url}/token` },
  });
  client.setCredentials(credentials);
  return client;
}

async function signIn(sub: string, scopes?: string[]): Promise<Credentials> {
  return (await oauthClient().getToken(google.authorize({ sub, scopes }).code)).tokens;
}

/** A Drive client; `retry: false` keeps an expected 4xx/5xx a single request. */
function driveAs(credentials: Credentials): drive_v3.Drive {
  return drive({ version: 'v3', auth: oauthClient(credentials), rootUrl: `${google.url}/`, retry: false });
}

/** Only the access token, so the auth client cannot refresh its way around a 401. */
const accessOnly = (credentials: Credentials): Credentials => ({ access_token: credentials.access_token });

async function driveFailure(call: Promise<unknown>): Promise<{ status?: number; error: Record<string, unknown> }> {
  const error: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GaxiosError)) throw new Error(`expected an HTTP error, got ${String(error)}`);
  return { status: error.response?.status, error: (error.response?.data as { error: Record<string, unknown> }).error };
}

describe('files.list in the app data folder', () => {
  it('pages with nextPageToken and honors a fields selection', async () => {
    for (let index = 1; index <= 5; index++) {
      google.seedDriveFile('7001', {
        name: `backup-${index}.json`,
        size: index * 100,
        modifiedTime: `2026-01-0${index}T00:00:00Z`,
      });
    }
    const client = driveAs(await signIn('7001'));
    const seen: drive_v3.Schema$File[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const { data } = await client.files.list({
        spaces: 'appDataFolder',
        pageSize: 2,
        pageToken,
        fields: 'nextPageToken,files(id,name,size,modifiedTime)',
      });
      seen.push(...(data.files ?? []));
      pageToken = data.nextPageToken ?? undefined;
      pages++;
    } while (pageToken);

    expect(pages).toBe(3);
    expect(seen.map((file) => file.name)).toEqual([1, 2, 3, 4, 5].map((index) => `backup-${index}.json`));
    expect(seen[1]).toEqual({
      id: expect.any(String),
      name: 'backup-2.json',
      size: '200',
      modifiedTime: '2026-01-02T00:00:00.000Z',
    });
  });

  it('answers the default fields, filters with q and sorts with orderBy', async () => {
    google.seedDriveFile('7002', { name: 'a.txt', content: 'hello', mimeType: 'text/plain' });
    google.seedDriveFile('7002', { name: 'b.txt', content: 'hello world', mimeType: 'text/plain' });
    const client = driveAs(await signIn('7002'));

    const { data } = await client.files.list({ spaces: 'appDataFolder' });
    expect(data).toEqual({
      kind: 'drive#fileList',
      incompleteSearch: false,
      files: [
        { kind: 'drive#file', id: expect.any(String), name: 'a.txt', mimeType: 'text/plain' },
        { kind: 'drive#file', id: expect.any(String), name: 'b.txt', mimeType: 'text/plain' },
      ],
    });

    const named = await client.files.list({ spaces: 'appDataFolder', q: "name = 'b.txt' and trashed = false" });
    expect(named.data.files?.map((file) => file.name)).toEqual(['b.txt']);
    const sorted = await client.files.list({
      spaces: 'appDataFolder',
      orderBy: 'name desc',
      fields: 'files(name,size)',
    });
    expect(sorted.data.files).toEqual([
      { name: 'b.txt', size: '11' },
      { name: 'a.txt', size: '5' },
    ]);
    expect((await driveFailure(client.files.list({ spaces: 'appDataFolder', q: 'name ~ 1' }))).status).toBe(400);
  });
});

describe('files.get and files.create', () => {
  it('reads the app data folder itself, which parents its files', async () => {
    const seeded = google.seedDriveFile('7003', { name: 'state.json' });
    const client = driveAs(await signIn('7003'));
    const { data: folder } = await client.files.get({ fileId: 'appDataFolder', fields: 'id,name,mimeType' });
    expect(folder).toEqual({ id: expect.any(String), name: 'appDataFolder', mimeType: FOLDER });
    expect(seeded.parents).toEqual([folder.id]);
    const { data: file } = await client.files.get({ fileId: seeded.id, fields: '*' });
    expect(file).toMatchObject({ name: 'state.json', size: '0', spaces: ['appDataFolder'], parents: [folder.id] });
    const missing = await driveFailure(client.files.get({ fileId: 'no-such-file' }));
    expect(missing).toMatchObject({ status: 404, error: { message: 'File not found: no-such-file.' } });
  });

  it('creates a file from metadata alone', async () => {
    const client = driveAs(await signIn('7004'));
    const { data } = await client.files.create({
      requestBody: { name: 'settings.json', parents: ['appDataFolder'], mimeType: 'application/json' },
      fields: 'id,name,size,spaces,createdTime',
    });
    expect(data).toMatchObject({ name: 'settings.json', size: '0', spaces: ['appDataFolder'] });
    expect(Date.parse(data.createdTime!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('takes a multipart upload (media uploads need rootUrl per call)', async () => {
    const client = driveAs(await signIn('7005'));
    const body = JSON.stringify({ saved: true, items: [1, 2, 3] });
    const { data } = await client.files.create(
      {
        requestBody: { name: 'upload.json', parents: ['appDataFolder'] },
        media: { mimeType: 'application/json', body },
        fields: 'id,name,mimeType,size,parents',
      },
      { rootUrl: `${google.url}/` },
    );
    expect(data).toMatchObject({ name: 'upload.json', mimeType: 'application/json', size: String(body.length) });
    const listed = await client.files.list({ spaces: 'appDataFolder', fields: 'files(id)' });
    expect(listed.data.files).toEqual([{ id: data.id }]);
  });

  it('takes a media-only upload into My Drive with drive.file', async () => {
    const client = driveAs(await signIn('7006', [DRIVE_FILE]));
    const { data } = await client.files.create(
      { media: { mimeType: 'text/plain', body: 'plain bytes' }, fields: 'name,size,spaces' },
      { rootUrl: `${google.url}/` },
    );
    expect(data).toEqual({ name: 'Untitled', size: '11', spaces: ['drive'] });
  });
});

describe('Drive authorization', () => {
  it('answers 401 UNAUTHENTICATED for an expired or revoked token', async () => {
    const expired = await signIn('7101');
    google.advanceClock(3600);
    const failure = await driveFailure(driveAs(accessOnly(expired)).files.list({ spaces: 'appDataFolder' }));
    expect(failure.status).toBe(401);
    expect(failure.error).toMatchObject({
      code: 401,
      status: 'UNAUTHENTICATED',
      errors: [expect.objectContaining({ reason: 'authError' })],
    });
    expect(failure.error.message).toMatch(/^Request had invalid authentication credentials/);

    const revoked = await signIn('7102');
    google.revokeUser('7102');
    expect((await driveFailure(driveAs(accessOnly(revoked)).files.list({ spaces: 'appDataFolder' }))).status).toBe(401);
    const anonymous = drive({ version: 'v3', rootUrl: `${google.url}/`, retry: false, fetchImplementation: fetch });
    expect((await driveFailure(anonymous.files.list({ spaces: 'appDataFolder' }))).error).toMatchObject({
      errors: [expect.objectContaining({ reason: 'required' })],
    });
  });

  it('lets the auth client refresh after a 401 when it holds a refresh token and no expiry', async () => {
    const { access_token, refresh_token } = await signIn('7103');
    google.advanceClock(3600);
    google.clearRequests();
    const { data } = await driveAs({ access_token, refresh_token }).files.list({ spaces: 'appDataFolder' });
    expect(data.files).toEqual([]);
    const log = google.requests().map((entry) => [entry.endpoint, entry.status, entry.freshToken]);
    expect(log).toEqual([
      ['drive', 401, false],
      ['token', 200, undefined],
      ['drive', 200, true],
    ]);
  });

  it('answers 403 insufficientPermissions without drive.appdata', async () => {
    const client = driveAs(await signIn('7104', ['openid', 'email']));
    const failure = await driveFailure(client.files.list({ spaces: 'appDataFolder' }));
    expect(failure).toMatchObject({
      status: 403,
      error: {
        code: 403,
        status: 'PERMISSION_DENIED',
        errors: [expect.objectContaining({ reason: 'insufficientPermissions' })],
      },
    });
    const appData = driveAs(await signIn('7105', [DRIVE_APPDATA]));
    expect((await driveFailure(appData.files.list({ spaces: 'drive' }))).status).toBe(403);
  });

  it('logs who called Drive and whether the token was the newest one', async () => {
    const first = await signIn('7106');
    const second = await signIn('7106');
    google.clearRequests();
    await driveAs(accessOnly(first)).files.list({ spaces: 'appDataFolder' });
    await driveAs(accessOnly(second)).files.list({ spaces: 'appDataFolder' });
    expect(google.requests().map(({ sub, freshToken }) => ({ sub, freshToken }))).toEqual([
      { sub: '7106', freshToken: false },
      { sub: '7106', freshToken: true },
    ]);
  });

  it('faults only the Drive calls of the named user', async () => {
    const mine = driveAs(await signIn('7107'));
    const theirs = driveAs(await signIn('7108'));
    google.injectFault({ endpoint: 'drive', kind: 503, sub: '7107' });
    await expect(theirs.files.list({ spaces: 'appDataFolder' })).resolves.toBeDefined();
    expect(await driveFailure(mine.files.list({ spaces: 'appDataFolder' }))).toMatchObject({
      status: 503,
      error: { status: 'UNAVAILABLE' },
    });
    await expect(mine.files.list({ spaces: 'appDataFolder' })).resolves.toBeDefined();
  });
});
