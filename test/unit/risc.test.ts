import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prefixHash, riscTokenHash } from '../../lib/crypto/envelope';
import { GoogleKeySet } from '../../lib/google/token-verifier';
import {
  InvalidSecurityEventError,
  RISC_EVENT_TYPES,
  RiscConfigurationSource,
  SecurityEventTokenVerifier,
  eventName,
  normalizeBase64,
  parseSubject,
  riscIssuer,
  safeReason,
} from '../../lib/risc';

const ISSUER = 'https://accounts.google.com/';
const CLIENT = 'server.apps.googleusercontent.com';
const APP = 'android.apps.googleusercontent.com';

function rsaKey(kid: string): { kid: string; privateKey: KeyObject; jwk: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

function signSet(claims: Record<string, unknown>, key: { kid: string; privateKey: KeyObject }, alg = 'RS256'): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg, kid: key.kid, typ: 'secevent+jwt' })}.${encode(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

describe('RISC events', () => {
  it('names both the RISC and the OAuth spellings of each event type', () => {
    expect(eventName(RISC_EVENT_TYPES.tokenRevoked)).toBe('token-revoked');
    expect(eventName('https://schemas.openid.net/secevent/risc/event-type/token-revoked')).toBe('token-revoked');
    expect(eventName('https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked')).toBe('tokens-revoked');
    expect(eventName(RISC_EVENT_TYPES.accountDisabled)).toBe('account-disabled');
    expect(eventName('https://schemas.openid.net/secevent/risc/event-type/account-purged')).toBeUndefined();
    expect(eventName('https://example.com/token-revoked')).toBeUndefined();
  });

  it('parses iss-sub and oauth_token subjects and ignores anything else', () => {
    expect(parseSubject({ subject: { subject_type: 'iss-sub', iss: ISSUER, sub: '123' } })).toEqual({
      kind: 'account',
      sub: '123',
      iss: ISSUER,
    });
    expect(
      parseSubject({
        subject: {
          subject_type: 'oauth_token',
          token_type: 'refresh_token',
          token_identifier_alg: 'prefix',
          token: '1//0abc',
        },
      }),
    ).toEqual({ kind: 'token', alg: 'prefix', value: '1//0abc', tokenType: 'refresh_token' });
    expect(
      parseSubject({ subject: { subject_type: 'oauth_token', token_identifier_alg: 'md5', token: 'x' } }),
    ).toBeUndefined();
    expect(parseSubject({ subject: { subject_type: 'email', email: 'a@b.c' } })).toBeUndefined();
    expect(parseSubject({})).toBeUndefined();
  });

  it('matches a hash sent in either base64 alphabet, padded or not', () => {
    const hash = riscTokenHash('1//0refresh-token-value');
    expect(normalizeBase64(hash)).toBe(hash);
    expect(normalizeBase64(Buffer.from(hash, 'base64').toString('base64url'))).toBe(hash);
  });

  it('computes the hash_base64_sha512_sha512 identifier over the raw inner digest', () => {
    const inner = createHash('sha512').update('1//0token').digest();
    expect(riscTokenHash('1//0token')).toBe(createHash('sha512').update(inner).digest('base64'));
    expect(prefixHash('1//0token')).not.toContain('1//0token');
  });

  it('keeps free-form reasons short and inert', () => {
    expect(safeReason('hijacking')).toBe('hijacking');
    expect(safeReason('a b\n<c>')).toBe('a_b__c_');
    expect(safeReason(42)).toBeUndefined();
    expect(safeReason('x'.repeat(200))).toHaveLength(64);
  });

  it('reads the issuer from RISC_ISSUER with Google as the default', () => {
    expect(riscIssuer({})).toBe(ISSUER);
    expect(riscIssuer({ RISC_ISSUER: 'https://issuer.example/' })).toBe('https://issuer.example/');
  });
});

describe('SecurityEventTokenVerifier', () => {
  const key = rsaKey('key-1');
  const stranger = rsaKey('key-1');
  let server: Server;
  let base: string;
  const hits = { configuration: 0, jwks: 0 };
  let verifier: SecurityEventTokenVerifier;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/.well-known/risc-configuration') {
        hits.configuration++;
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
        response.end(JSON.stringify({ issuer: ISSUER, jwks_uri: `${base}/jwks` }));
      } else if (request.url === '/jwks') {
        hits.jwks++;
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
        response.end(JSON.stringify({ keys: [key.jwk] }));
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const configuration = new RiscConfigurationSource(`${base}/.well-known/risc-configuration`);
    const keys = new GoogleKeySet(() => configuration.jwksUri(), 'jwks', { maxKidRefetchesPerMinute: 100 });
    verifier = new SecurityEventTokenVerifier(keys, { audiences: [CLIENT, APP], issuer: ISSUER });
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const claims = (overrides: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    aud: CLIENT,
    iat: Math.floor(Date.now() / 1000),
    jti: `jti-${Math.random()}`,
    events: { [RISC_EVENT_TYPES.verification]: { state: 'hello' } },
    ...overrides,
  });

  it('accepts a SET signed with a key of the configured JWKS, addressed to an app client', async () => {
    const set = await verifier.verify(signSet(claims({ aud: [APP] }), key));
    expect(set).toMatchObject({ iss: ISSUER, aud: APP });
    expect(Object.keys(set.events)).toEqual([RISC_EVENT_TYPES.verification]);
  });

  it('does not check exp: an event from long ago is still valid', async () => {
    const old = Math.floor(Date.now() / 1000) - 30 * 86_400;
    await expect(verifier.verify(signSet(claims({ iat: old, exp: old + 60 }), key))).resolves.toMatchObject({
      iat: old,
    });
  });

  it.each([
    ['another issuer', claims({ iss: 'https://accounts.google.com' })],
    ['another audience', claims({ aud: 'someone-else.apps.googleusercontent.com' })],
    ['no jti', claims({ jti: undefined })],
    ['no iat', claims({ iat: undefined })],
    ['no events', claims({ events: {} })],
  ])('rejects a SET with %s', async (_why, payload) => {
    await expect(verifier.verify(signSet(payload, key))).rejects.toBeInstanceOf(InvalidSecurityEventError);
  });

  it('rejects a signature by a key Google does not publish', async () => {
    await expect(verifier.verify(signSet(claims(), stranger))).rejects.toThrow(/signature is invalid/);
  });

  it('rejects an unknown kid after one refetch', async () => {
    const before = hits.jwks;
    await expect(verifier.verify(signSet(claims(), { ...key, kid: 'rotated-away' }))).rejects.toThrow(/unknown key/);
    expect(hits.jwks).toBe(before + 1);
  });

  it('rejects alg none and malformed tokens with 400 invalid_token, never echoing the token', async () => {
    const token = signSet(claims(), key, 'none');
    const error = await verifier.verify(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSecurityEventError);
    expect((error as InvalidSecurityEventError).status).toBe(400);
    expect((error as InvalidSecurityEventError).code).toBe('invalid_token');
    expect(JSON.stringify((error as InvalidSecurityEventError).toJSON())).not.toContain(token.split('.')[1]!);
    await expect(verifier.verify('not-a-jwt')).rejects.toBeInstanceOf(InvalidSecurityEventError);
  });

  it('caches the RISC configuration across key refetches', () => {
    expect(hits.configuration).toBe(1);
  });
});
