/**
 * The Google emulator's Cross-Account Protection side: security event tokens that verify
 * against the JWKS named by the discovery document, and stream registration with a
 * service account through google-auth-library's JWT client (JWT-bearer grant).
 */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GaxiosError } from 'gaxios';
import { JWT, OAuth2Client } from 'google-auth-library';
import {
  DEFAULT_LOCAL_CLIENT,
  EVENT_TYPES,
  startGoogleEmulator,
  type GoogleEmulator,
  type ServiceAccountKey,
} from '../../local/google-emulator';

const RISC_SCOPE = 'https://www.googleapis.com/auth/risc.configuration.readwrite';
const PUSH = 'https://schemas.openid.net/secevent/risc/delivery-method/push';
/** google-auth-library's JWT client always posts its grant here; tests reroute it. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

let google: GoogleEmulator;

beforeAll(async () => {
  google = await startGoogleEmulator();
});
afterAll(() => google.close());

function decodeSegment(jwt: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Verifies an RS256 JWT against the JWKS the discovery document points to. */
async function verifyWithDiscoveredJwks(jwt: string): Promise<boolean> {
  const configuration = (await (await fetch(`${google.url}/.well-known/risc-configuration`)).json()) as {
    jwks_uri: string;
  };
  const { keys } = (await (await fetch(configuration.jwks_uri)).json()) as { keys: (JsonWebKey & { kid: string })[] };
  const jwk = keys.find((key) => key.kid === decodeSegment(jwt, 0).kid);
  if (!jwk) return false;
  const [header, payload, signature] = jwt.split('.');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  return verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature!, 'base64url'));
}

/**
 * A JWT client for the key, its token request rerouted to the emulator. The new url must
 * be a URL object: gaxios's error redactor reads `config.url.searchParams`, and with a
 * string it throws a TypeError in place of the HTTP error.
 */
function serviceAccountClient(key: ServiceAccountKey, scopes: string[]): JWT {
  const client = new JWT({
    email: key.client_email,
    key: key.private_key,
    keyId: key.private_key_id,
    scopes,
    transporterOptions: { fetchImplementation: fetch }, // see google-emulator.test.ts
  });
  client.transporter.interceptors.request.add({
    resolved: (config) =>
      Promise.resolve(
        String(config.url) === GOOGLE_TOKEN_URL ? Object.assign(config, { url: new URL(key.token_uri) }) : config,
      ),
  });
  return client;
}

describe('security event tokens', () => {
  it('publishes a discovery document pointing at the emulator', async () => {
    const response = await fetch(`${google.url}/.well-known/risc-configuration`);
    expect(await response.json()).toEqual({
      issuer: 'https://accounts.google.com/',
      jwks_uri: `${google.url}/oauth2/v3/certs`,
      delivery_methods_supported: [PUSH],
      add_subject_endpoint: `${google.url}/v1beta/subjects:add`,
      remove_subject_endpoint: `${google.url}/v1beta/subjects:remove`,
    });
  });

  it('signs a SET that verifies against the discovered JWKS', async () => {
    const events = {
      [EVENT_TYPES.tokensRevoked]: {
        subject: { subject_type: 'iss-sub', iss: 'https://accounts.google.com/', sub: '8001' },
      },
    };
    const token = google.signSecurityEvent({ aud: DEFAULT_LOCAL_CLIENT.clientId, events });
    expect(await verifyWithDiscoveredJwks(token)).toBe(true);
    expect(decodeSegment(token, 0)).toMatchObject({ alg: 'RS256', typ: 'secevent+jwt' });
    expect(decodeSegment(token, 1)).toEqual({
      iss: 'https://accounts.google.com/',
      aud: DEFAULT_LOCAL_CLIENT.clientId,
      iat: expect.any(Number),
      jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      events,
    });
  });

  it('lets tests forge a SET with a foreign kid', async () => {
    const token = google.signSecurityEvent({ aud: 'x', events: {}, kid: 'unknown-kid', jti: 'fixed' });
    expect(decodeSegment(token, 0).kid).toBe('unknown-kid');
    expect(decodeSegment(token, 1).jti).toBe('fixed');
    expect(await verifyWithDiscoveredJwks(token)).toBe(false);
  });
});

describe('stream registration', () => {
  let receiver: Server;
  let receiverUrl: string;
  const received: { contentType?: string; body: string }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/risc`;
  });
  afterAll(() => new Promise((resolve) => receiver.close(resolve)));

  it('registers, reads back and verifies a stream with a service-account token', async () => {
    const key = await google.createServiceAccount();
    expect(key).toMatchObject({ type: 'service_account', token_uri: `${google.url}/token` });
    const client = serviceAccountClient(key, [RISC_SCOPE]);
    const events = [EVENT_TYPES.tokensRevoked, EVENT_TYPES.accountDisabled];

    const update = await client.request({
      url: `${google.url}/v1beta/stream:update`,
      method: 'POST',
      data: { delivery: { delivery_method: PUSH, url: receiverUrl }, events_requested: events },
    });
    expect(update.status).toBe(200);
    const { data: stream } = await client.request({ url: `${google.url}/v1beta/stream` });
    expect(stream).toMatchObject({
      aud: [DEFAULT_LOCAL_CLIENT.clientId],
      delivery: { delivery_method: PUSH, url: receiverUrl },
      events_requested: events,
      events_delivered: events,
    });
    expect(google.riscStream()?.delivery.url).toBe(receiverUrl);

    await client.request({ url: `${google.url}/v1beta/stream:verify`, method: 'POST', data: { state: 'ping-1' } });
    expect(received).toHaveLength(1);
    expect(received[0]!.contentType).toBe('application/secevent+jwt');
    const verification = received[0]!.body;
    expect(await verifyWithDiscoveredJwks(verification)).toBe(true);
    expect(decodeSegment(verification, 1)).toMatchObject({
      aud: DEFAULT_LOCAL_CLIENT.clientId,
      events: { [EVENT_TYPES.verification]: { state: 'ping-1' } },
    });
    expect(google.riscStream()?.lastDelivery?.status).toBe(202);
  });

  it('refuses the stream API to a token without the RISC scope', async () => {
    const key = await google.createServiceAccount();
    const client = serviceAccountClient(key, ['https://www.googleapis.com/auth/drive']);
    const error: unknown = await client.request({ url: `${google.url}/v1beta/stream` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GaxiosError);
    expect((error as GaxiosError).response?.status).toBe(403);
    expect((error as GaxiosError).response?.data).toMatchObject({
      error: { status: 'PERMISSION_DENIED', errors: [{ reason: 'insufficientPermissions' }] },
    });
  });

  it('rejects an assertion signed by a key the emulator did not issue', async () => {
    const key = await google.createServiceAccount();
    const other = await google.createServiceAccount();
    const impostor = serviceAccountClient({ ...key, private_key: other.private_key }, [RISC_SCOPE]);
    const error: unknown = await impostor.getAccessToken().catch((e: unknown) => e);
    expect((error as GaxiosError).response?.data).toEqual({
      error: 'invalid_grant',
      error_description: 'Invalid JWT Signature.',
    });
  });

  it('needs a bearer token at all', async () => {
    const anonymous = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    const response = await anonymous.transporter.request({
      url: `${google.url}/v1beta/stream`,
      validateStatus: () => true,
    });
    expect(response.status).toBe(401);
  });
});
