/** The local API Gateway stand-in builds payload 2.0 events and reads results the way API Gateway does. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { startHttpApi, type HttpApi } from '../../local/http-api';

let api: HttpApi;
const seen: APIGatewayProxyEventV2[] = [];

beforeAll(async () => {
  api = await startHttpApi(
    {
      'POST /echo': (event) => {
        seen.push(event);
        return Promise.resolve({ statusCode: 201, headers: { 'x-reply': 'yes' }, cookies: ['a=1', 'b=2'], body: 'ok' });
      },
      'GET /plain': () => Promise.resolve('just a string'),
      'GET /crash': () => Promise.reject(new Error('boom')),
    },
    { port: 0 },
  );
});

afterAll(() => api.close());

describe('local HTTP API', () => {
  it('listens on loopback only', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('builds a payload 2.0 event: lower-cased headers, raw query without "?", cookies, text body', async () => {
    const response = await fetch(`${api.url}/echo?b=2&a=1&a=3`, {
      method: 'POST',
      headers: { 'X-Requested-With': 'App', Cookie: 'session=s; theme=dark', 'Content-Type': 'application/json' },
      body: '{"authCode":"x"}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-reply')).toBe('yes');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await response.text()).toBe('ok');
    const event = seen.at(-1)!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /echo',
      rawPath: '/echo',
      rawQueryString: 'b=2&a=1&a=3',
      queryStringParameters: { a: '1,3', b: '2' },
      cookies: ['session=s', 'theme=dark'],
      body: '{"authCode":"x"}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/echo' }, stage: '$default' },
    });
    expect(event.headers['x-requested-with']).toBe('App');
    expect(event.headers).not.toHaveProperty('cookie');
  });

  it('base64-encodes non-text bodies', async () => {
    const bytes = Buffer.from([0, 1, 2, 250]);
    await fetch(`${api.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    const event = seen.at(-1)!;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64').equals(bytes)).toBe(true);
  });

  it('answers as API Gateway does for a bare string result, an unknown route and a crashed handler', async () => {
    const plain = await fetch(`${api.url}/plain`);
    expect([plain.status, await plain.text()]).toEqual([200, 'just a string']);
    expect((await fetch(`${api.url}/nowhere`)).status).toBe(404);
    const crash = await fetch(`${api.url}/crash`);
    expect(crash.status).toBe(500);
    expect(await crash.json()).toEqual({ message: 'Internal Server Error' });
  });
});
