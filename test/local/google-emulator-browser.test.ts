/**
 * The Google emulator's browser side over HTTP, as a browser would call it: the GIS stand-in
 * script, the popup's account chooser and consent pages, and the result page that posts to the
 * opener. The codes it hands out are redeemed by the real google-auth-library. (The whole flow
 * in a browser is `npm run test:e2e`.)
 */
import { OAuth2Client } from 'google-auth-library';
import { DEFAULT_LOCAL_CLIENT, startGoogleEmulator, type GoogleEmulator } from '../../local/google-emulator';

const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const ORIGIN = 'http://127.0.0.1:3001';
const STATE = 'state-0123456789';

let google: GoogleEmulator;
beforeAll(async () => {
  google = await startGoogleEmulator();
});
afterAll(() => google.close());

const popupParams = (overrides: Record<string, string> = {}) => ({
  client_id: DEFAULT_LOCAL_CLIENT.clientId,
  response_type: 'code',
  scope: `openid email profile ${DRIVE_APPDATA}`,
  redirect_uri: 'postmessage',
  origin: ORIGIN,
  state: STATE,
  ...overrides,
});

async function get(params: Record<string, string>) {
  const response = await fetch(`${google.url}/o/oauth2/v2/auth?${new URLSearchParams(params).toString()}`);
  return { status: response.status, type: response.headers.get('content-type'), html: await response.text() };
}

async function approve(fields: [string, string][]) {
  const response = await fetch(`${google.url}/o/oauth2/v2/auth/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, html: await response.text() };
}

/** What the result page posts to the opener, and to which origin. */
function posted(html: string): {
  message: { type: string; state: string; response: Record<string, string> };
  origin: string;
} {
  const data = /var d=(\{.*?\});if\(window\.opener\)/s.exec(html)?.[1];
  if (!data) throw new Error(`no result in:\n${html}`);
  return JSON.parse(data);
}

function redeem(code: string, redirectUri = 'postmessage') {
  const client = new OAuth2Client({
    clientId: DEFAULT_LOCAL_CLIENT.clientId,
    clientSecret: DEFAULT_LOCAL_CLIENT.clientSecret,
    transporterOptions: { fetchImplementation: fetch },
    endpoints: { oauth2TokenUrl: `${google.url}/token` },
  });
  return client.getToken({ code, redirect_uri: redirectUri });
}

describe('the Google emulator in the browser', () => {
  it('serves the GIS stand-in script to any origin', async () => {
    const response = await fetch(`${google.url}/gsi/client`);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const script = await response.text();
    for (const api of ['initialize', 'renderButton', 'prompt', 'initCodeClient', 'requestCode', 'error_callback']) {
      expect(script).toContain(api);
    }
  });

  it('shows an account chooser, then a consent page with one checkbox per requested scope', async () => {
    const chooser = await get(popupParams());
    expect(chooser.status).toBe(200);
    expect(chooser.type).toMatch(/^text\/html/);
    expect(chooser.html).toContain('Choose an account');
    expect(chooser.html).toContain('ada@example.com');

    const consent = await get({ ...popupParams(), account: 'new.user@example.com' });
    expect(consent.html).toContain('wants access to your Google Account');
    expect(consent.html.match(/type="checkbox"/g)).toHaveLength(4);
    expect(consent.html).toMatch(new RegExp(`value="${DRIVE_APPDATA}" checked>`));
  });

  it('posts a code bound to postmessage, with only the scopes ticked, to the opener origin', async () => {
    const page = await approve([
      ...Object.entries(popupParams()),
      ['account', 'unticker@example.com'],
      ['decision', 'allow'],
      ['granted', 'https://www.googleapis.com/auth/drive'], // never asked for: ignored
    ]);
    const { message, origin } = posted(page.html);
    expect(origin).toBe(ORIGIN);
    expect(message).toMatchObject({ type: 'gis-emulator-response', state: STATE });
    expect(message.response.scope!.split(' ')).not.toContain(DRIVE_APPDATA);
    await expect(redeem(message.response.code!, '')).rejects.toThrow(); // the Android flow's redirect_uri
    const { tokens } = await redeem(message.response.code!);
    expect(tokens.scope?.split(' ')).not.toContain(DRIVE_APPDATA);

    // Asked again, the user ticks Drive this time: a new consent, so a refresh token again.
    const again = posted(
      (
        await approve([
          ...Object.entries(popupParams()),
          ['account', 'unticker@example.com'],
          ['decision', 'allow'],
          ['granted', DRIVE_APPDATA],
        ])
      ).html,
    );
    const redeemed = await redeem(again.message.response.code!);
    expect(redeemed.tokens.scope?.split(' ')).toContain(DRIVE_APPDATA);
    expect(redeemed.tokens.refresh_token).toBeDefined();
  });

  it('posts access_denied when the user cancels', async () => {
    const page = await approve([...Object.entries(popupParams()), ['decision', 'deny']]);
    expect(posted(page.html).message.response).toEqual({
      error: 'access_denied',
      error_description: 'The user denied the request.',
    });
  });

  it('signs the user in with an ID token for the client', async () => {
    const page = await get({
      ...popupParams({ response_type: 'id_token', scope: 'openid email profile' }),
      account: 'ada@example.com',
    });
    const { credential } = posted(page.html).message.response;
    const claims = JSON.parse(Buffer.from(credential!.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: DEFAULT_LOCAL_CLIENT.clientId,
      sub: '1001',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
    });
  });

  it.each([
    ['an unknown client', { client_id: 'nobody.apps.googleusercontent.com' }, 401, 'invalid_client'],
    ['no origin', { origin: '' }, 400, 'origin_mismatch'],
    ['an origin with a path', { origin: `${ORIGIN}/page` }, 400, 'origin_mismatch'],
    ['a javascript: origin', { origin: 'javascript:alert(1)' }, 400, 'origin_mismatch'],
    ['a code for another redirect URI', { redirect_uri: '' }, 400, 'redirect_uri_mismatch'],
    ['no scope', { scope: '' }, 400, 'invalid_request'],
    ['a malformed state', { state: '<script>' }, 400, 'invalid_request'],
  ])('refuses %s with an error page and posts nothing', async (_name, overrides, status, error) => {
    const page = await get(popupParams(overrides));
    expect(page.status).toBe(status);
    expect(page.html).toContain(error);
    expect(page.html).not.toContain('postMessage');
  });

  it('escapes what it echoes', async () => {
    const page = await get({ ...popupParams(), account: '<img src=x onerror=alert(1)>' });
    expect(page.html).not.toContain('<img src=x');
    expect(page.html).toContain('&#60;img');
  });
});
