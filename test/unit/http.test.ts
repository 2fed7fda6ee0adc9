import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AppError } from '../../lib/errors';
import { errorResponse, httpHandler, parseHttpEvent, readBodyField } from '../../lib/http';

const event = (overrides: Partial<APIGatewayProxyEventV2>): APIGatewayProxyEventV2 => ({
  version: '2.0',
  routeKey: 'POST /authcode',
  rawPath: '/authcode',
  rawQueryString: '',
  headers: {},
  isBase64Encoded: false,
  requestContext: {} as never,
  ...overrides,
});

describe('HTTP edge', () => {
  it('reads the code from a form body, as the Android sample sends it', () => {
    const request = parseHttpEvent(
      event({
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
        body: 'authCode=4%2Fabc',
      }),
    );
    expect(readBodyField(request, 'authCode')).toBe('4/abc');
  });

  it('reads a base64-encoded JSON body', () => {
    const body = Buffer.from(JSON.stringify({ authCode: 'c' })).toString('base64');
    const request = parseHttpEvent(
      event({ headers: { 'content-type': 'application/json' }, body, isBase64Encoded: true }),
    );
    expect(readBodyField(request, 'authCode')).toBe('c');
  });

  it.each([
    ['text/plain', 'authCode=x', 'unsupported_media_type'],
    ['application/json', '{nope', 'invalid_request'],
    ['application/json', '[1]', 'invalid_request'],
    ['application/json', JSON.stringify({ authCode: 'x'.repeat(9000) }), 'payload_too_large'],
  ])('rejects %s %s with %s', (contentType, body, code) => {
    const request = parseHttpEvent(event({ headers: { 'content-type': contentType }, body }));
    expect(() => readBodyField(request, 'authCode')).toThrow(expect.objectContaining({ code }));
  });

  it('maps errors to the contract body with Retry-After on 503 and hides unknown errors', async () => {
    const unavailable = errorResponse(
      new AppError('upstream_unavailable', 'Google is unavailable', { retryAfterSeconds: 7 }),
    );
    expect(unavailable).toMatchObject({ statusCode: 503, headers: { 'retry-after': '7' } });
    expect(JSON.parse(unavailable.body!)).toEqual({ error: 'upstream_unavailable', message: 'Google is unavailable' });
    const crashed = await httpHandler(() => Promise.reject(new Error('boom with ya29.secret')))(event({}));
    expect(crashed.statusCode).toBe(500);
    expect(crashed.body).toBe(JSON.stringify({ error: 'internal_error', message: 'Internal error' }));
  });
});
