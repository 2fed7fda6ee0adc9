/**
 * The Google emulator's Drive changes and push channels, driven by the real
 * @googleapis/drive client over HTTP; notifications land on a plain local HTTP server
 * playing the receiving backend.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drive, type drive_v3 } from '@googleapis/drive';
import { GaxiosError } from 'gaxios';
import { OAuth2Client } from 'google-auth-library';
import { DEFAULT_LOCAL_CLIENT, startGoogleEmulator, type GoogleEmulator } from '../../local/google-emulator';

let google: GoogleEmulator;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const receiver = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    received.push({ headers: request.headers, body });
    response.writeHead(200).end();
  });
});
let address = '';

beforeAll(async () => {
  google = await startGoogleEmulator();
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/drive/notifications`;
});
afterAll(async () => {
  await google.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => (received.length = 0));

async function driveAs(sub: string): Promise<drive_v3.Drive> {
  const oauth = new OAuth2Client({
    clientId: DEFAULT_LOCAL_CLIENT.clientId,
    clientSecret: DEFAULT_LOCAL_CLIENT.clientSecret,
    transporterOptions: { fetchImplementation: fetch },
    endpoints: { oauth2TokenUrl: `${google.url}/token` },
  });
  const { tokens } = await oauth.getToken(google.authorize({ sub }).code);
  oauth.setCredentials({ access_token: tokens.access_token });
  return drive({ version: 'v3', auth: oauth, rootUrl: `${google.url}/`, retry: false, fetchImplementation: fetch });
}

async function statusOf(call: Promise<unknown>): Promise<number | undefined> {
  const error: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GaxiosError)) throw new Error(`expected an HTTP error, got ${String(error)}`);
  return error.response?.status;
}

const list = (client: drive_v3.Drive, pageToken: string, pageSize?: number) =>
  client.changes.list({ pageToken, spaces: 'appDataFolder', ...(pageSize ? { pageSize } : {}) });

describe('changes', () => {
  it('lists what changed since a start page token, page by page, to a new start token', async () => {
    const client = await driveAs('8001');
    const { data: start } = await client.changes.getStartPageToken({});
    const created = [1, 2, 3].map((i) => google.seedDriveFile('8001', { name: `c${i}.json` }));
    google.deleteDriveFile('8001', created[0]!.id);

    const first = (await list(client, start.startPageToken!, 3)).data;
    expect(first.newStartPageToken).toBeUndefined();
    expect(first.changes?.map((change) => [change.fileId, change.removed])).toEqual(
      created.map((file) => [file.id, false]),
    );
    const second = (await list(client, first.nextPageToken!, 3)).data;
    expect(second.changes).toEqual([
      expect.objectContaining({ kind: 'drive#change', changeType: 'file', fileId: created[0]!.id, removed: true }),
    ]);
    expect(second.newStartPageToken).toEqual(expect.any(String));
  });

  it('hands back the very token it was given while nothing changes', async () => {
    const client = await driveAs('8002');
    const token = (await client.changes.getStartPageToken({})).data.startPageToken!;
    const { data } = await list(client, token);
    expect(data).toMatchObject({ changes: [], newStartPageToken: token });
  });

  it('keeps each user to their own changes', async () => {
    const client = await driveAs('8003');
    const token = (await client.changes.getStartPageToken({})).data.startPageToken!;
    google.seedDriveFile('someone-else', { name: 'theirs.json' });
    expect((await list(client, token)).data.changes).toEqual([]);
  });

  it('answers 400 for a page token from before an expiry, and for garbage', async () => {
    const client = await driveAs('8004');
    const token = (await client.changes.getStartPageToken({})).data.startPageToken!;
    google.expireDrivePageTokens('8004');
    expect(await statusOf(list(client, token))).toBe(400);
    expect(await statusOf(list(client, 'not-a-token'))).toBe(400);
    const fresh = (await client.changes.getStartPageToken({})).data.startPageToken!;
    expect((await list(client, fresh)).status).toBe(200);
  });
});

describe('push channels', () => {
  it('sends a sync message, then a change message per change, with Google’s headers and no body', async () => {
    const client = await driveAs('8101');
    const pageToken = (await client.changes.getStartPageToken({})).data.startPageToken!;
    const { data: channel } = await client.changes.watch({
      pageToken,
      spaces: 'appDataFolder',
      requestBody: { id: 'chan-8101', type: 'web_hook', address, token: 'secret-token-8101' },
    });
    expect(channel).toMatchObject({ kind: 'api#channel', id: 'chan-8101', resourceId: expect.any(String) });
    google.seedDriveFile('8101', { name: 'n.json' });
    await google.pushIdle();

    expect(
      received.map(({ headers, body }) => [headers['x-goog-resource-state'], headers['x-goog-message-number'], body]),
    ).toEqual([
      ['sync', '1', ''],
      ['change', '2', ''],
    ]);
    expect(received[1]!.headers).toMatchObject({
      'x-goog-channel-id': 'chan-8101',
      'x-goog-channel-token': 'secret-token-8101',
      'x-goog-resource-id': channel.resourceId,
      'x-goog-channel-expiration': expect.any(String),
      'x-goog-resource-uri': expect.stringContaining('/drive/v3/changes'),
    });
  });

  it('stops sending once the channel is stopped, and only its owner can stop it', async () => {
    const client = await driveAs('8102');
    const pageToken = (await client.changes.getStartPageToken({})).data.startPageToken!;
    const { data: channel } = await client.changes.watch({
      pageToken,
      spaces: 'appDataFolder',
      requestBody: { id: 'chan-8102', type: 'web_hook', address },
    });
    const stranger = await driveAs('8103');
    expect(
      await statusOf(stranger.channels.stop({ requestBody: { id: 'chan-8102', resourceId: channel.resourceId } })),
    ).toBe(404);

    const stopped = await client.channels.stop({ requestBody: { id: 'chan-8102', resourceId: channel.resourceId } });
    expect(stopped.status).toBe(204);
    google.seedDriveFile('8102', { name: 'after-stop.json' });
    await google.pushIdle();
    expect(received.map((r) => r.headers['x-goog-resource-state'])).toEqual(['sync']);
    expect(google.driveChannels().filter((c) => c.owner === '8102')).toEqual([]);
  });

  it('caps a channel at one week and lets it lapse on the emulator clock', async () => {
    const client = await driveAs('8104');
    const pageToken = (await client.changes.getStartPageToken({})).data.startPageToken!;
    const { data: channel } = await client.changes.watch({
      pageToken,
      spaces: 'appDataFolder',
      requestBody: { id: 'chan-8104', type: 'web_hook', address, expiration: String(Date.now() + 30 * 86_400_000) },
    });
    expect(Number(channel.expiration)).toBeLessThanOrEqual(google.now().getTime() + 7 * 86_400_000);
    google.advanceClock(8 * 86_400);
    google.seedDriveFile('8104', { name: 'late.json' });
    await google.pushIdle();
    expect(received.map((r) => r.headers['x-goog-resource-state'])).toEqual(['sync']);
  });

  it('refuses a channel id already in use', async () => {
    const client = await driveAs('8105');
    const pageToken = (await client.changes.getStartPageToken({})).data.startPageToken!;
    const watch = () =>
      client.changes.watch({
        pageToken,
        spaces: 'appDataFolder',
        requestBody: { id: 'chan-8105', type: 'web_hook', address },
      });
    await watch();
    expect(await statusOf(watch())).toBe(400);
  });
});
