/**
 * Example: a job in another service that lists a user's Drive app data folder, with an
 * access token from the token function (lib/client) and the Drive-only client. Deployed as a
 * Lambda whose role was given `grantTokenAccess` (see examples/nightly-export-stack.ts), with
 * `ACCESS_TOKEN_FUNCTION` set to the stack's `TokenFunctionArn` output.
 */
import { drive, type drive_v3 } from '@googleapis/drive';
import { OAuth2Client } from 'google-auth-library';
import { AccessTokenClient, NeedsReconnectError, NotConnectedError } from '../lib/client';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';

export interface AppDataListing {
  userId: string;
  /** Set when there is nothing to list: the app should ask the user to (re)connect. */
  skipped?: 'not_connected' | 'needs_reconnect';
  files: Pick<drive_v3.Schema$File, 'id' | 'name' | 'size' | 'modifiedTime'>[];
}

export interface ListAppDataOptions {
  tokens?: AccessTokenClient;
  /** Root of googleapis URLs (the Google emulator's, locally). */
  rootUrl?: string;
}

export async function listAppData(userId: string, options: ListAppDataOptions = {}): Promise<AppDataListing> {
  const tokens = options.tokens ?? new AccessTokenClient();
  let accessToken: string;
  try {
    // Valid for at least 5 more minutes: long enough for every page below.
    ({ accessToken } = await tokens.getAccessToken({ userId, scopes: [DRIVE_APPDATA], minValiditySeconds: 300 }));
  } catch (error) {
    if (error instanceof NotConnectedError) return { userId, skipped: 'not_connected', files: [] };
    if (error instanceof NeedsReconnectError) return { userId, skipped: 'needs_reconnect', files: [] };
    throw error; // TokenServiceUnavailableError is retryable: let the job's own retry handle it.
  }
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: accessToken });
  const client = drive({
    version: 'v3',
    auth,
    fetchImplementation: fetch,
    ...(options.rootUrl ? { rootUrl: options.rootUrl } : {}),
  });
  const files: AppDataListing['files'] = [];
  let pageToken: string | undefined;
  do {
    const { data } = await client.files.list({
      spaces: 'appDataFolder',
      fields: 'nextPageToken, files(id, name, size, modifiedTime)',
      pageSize: 100,
      ...(pageToken ? { pageToken } : {}),
    });
    for (const file of data.files ?? [])
      files.push({ id: file.id, name: file.name, size: file.size, modifiedTime: file.modifiedTime });
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  return { userId, files };
}

/** The Lambda entry point of the example job. */
export const handler = (event: { userId: string }): Promise<AppDataListing> => listAppData(event.userId);
