import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpstreamUnavailableError } from '../../lib/errors';
import { GoogleKeySet } from '../../lib/google/token-verifier';
import { selfSignedCertificatePem } from '../../local/google-emulator/x509';

/** A certs endpoint whose answer the test sets, counting fetches. */
let server: Server;
let base: string;
let fetches = 0;
let answer: { status: number; body: string; maxAge?: number } = { status: 200, body: '{"keys":[]}' };

const newKey = async (kid: string) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
    pem: await selfSignedCertificatePem({
      commonName: kid,
      privateKey,
      publicKey,
      notBefore: new Date(),
      validDays: 1,
    }),
  };
};
type Key = Awaited<ReturnType<typeof newKey>>;

const publishJwks = (...keys: Key[]) => {
  answer = { status: 200, body: JSON.stringify({ keys: keys.map((key) => key.jwk) }), maxAge: 3600 };
};
const publishPem = (...keys: Key[]) => {
  answer = { status: 200, body: JSON.stringify(Object.fromEntries(keys.map((k) => [k.kid, k.pem]))), maxAge: 3600 };
};

beforeAll(async () => {
  server = createServer((_request, response) => {
    fetches++;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (answer.maxAge !== undefined) headers['cache-control'] = `public, max-age=${answer.maxAge}`;
    response.writeHead(answer.status, headers);
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  fetches = 0;
});

describe('GoogleKeySet', () => {
  it('caches keys per max-age and refetches once for a rotated kid', async () => {
    const first = await newKey('k1');
    publishJwks(first);
    let now = 0;
    const keys = new GoogleKeySet(`${base}/jwks`, 'jwks', { now: () => now });
    expect(await keys.getKey('k1')).toBeDefined();
    expect(await keys.getKey('k1')).toBeDefined();
    expect(fetches).toBe(1);

    const second = await newKey('k2');
    publishJwks(first, second);
    expect(await keys.getKey('k2')).toBeDefined();
    expect(fetches).toBe(2);

    now += 3601_000; // past max-age: fetched again even for a known kid
    await keys.getKey('k1');
    expect(fetches).toBe(3);
  });

  it('imports each published key once: an unchanged key is reused across refetches', async () => {
    const kept = await newKey('kept');
    publishPem(kept);
    let now = 0;
    const keys = new GoogleKeySet(`${base}/certs`, 'pem-certificates', { now: () => now });
    const before = await keys.getKey('kept');
    publishPem(kept, await newKey('added'));
    now += 3601_000;
    expect(await keys.getKey('added')).toBeDefined();
    expect(fetches).toBe(2);
    expect(await keys.getKey('kept')).toBe(before);
  });

  it('bounds the refetches junk kids can cause, and a real rotation still gets through after one', async () => {
    const current = await newKey('current');
    publishJwks(current);
    let now = 0;
    const keys = new GoogleKeySet(`${base}/jwks`, 'jwks', { now: () => now });
    await keys.getKey('current');

    // One bad token with an unknown kid, then Google rotates: the new kid still resolves.
    expect(await keys.getKey('junk-0')).toBeUndefined();
    const rotated = await newKey('rotated');
    publishJwks(current, rotated);
    expect(await keys.getKey('rotated')).toBeDefined();

    // A flood of junk kids: at most five refetches a minute.
    fetches = 0;
    for (let i = 1; i <= 50; i++) expect(await keys.getKey(`junk-${i}`)).toBeUndefined();
    expect(fetches).toBeLessThanOrEqual(5);
    now += 61_000;
    expect(await keys.getKey('junk-later')).toBeUndefined();
    expect(fetches).toBeLessThanOrEqual(6);
  });

  it('refuses, as a token problem, a header with no kid or an unknown one', async () => {
    publishJwks(await newKey('only'));
    const keys = new GoogleKeySet(`${base}/jwks`, 'jwks');
    await expect(keys.resolve({ alg: 'RS256' })).rejects.toThrow('token has no key id');
    await expect(keys.resolve({ alg: 'RS256', kid: 'missing' })).rejects.toThrow('unknown key');
    await expect(keys.resolve({ alg: 'RS256', kid: 'only' })).resolves.toBeDefined();
  });

  it('skips a published key it cannot use and keeps the others', async () => {
    const good = await newKey('good');
    const keys = new GoogleKeySet(`${base}/mixed`, 'jwks');
    answer = {
      status: 200,
      body: JSON.stringify({
        keys: [
          { kty: 'RSA', kid: 'broken', n: 'AQAB', e: 'AQAB', alg: 'RS256' },
          { ...good.jwk, kid: 'rs512', alg: 'RS512' },
          { kty: 'EC', kid: 'ec', crv: 'P-256', x: 'x', y: 'y' },
          good.jwk,
        ],
      }),
    };
    expect(await keys.getKey('good')).toBeDefined();
    expect(await keys.getKey('broken')).toBeUndefined();
    expect(await keys.getKey('rs512')).toBeUndefined();
    expect(await keys.getKey('ec')).toBeUndefined();
  });

  it.each([
    ['an HTTP 500', { status: 500, body: 'oops' }],
    ['a body that is not JSON', { status: 200, body: '<html>' }],
    ['a body that is not a key set', { status: 200, body: '[]' }],
    ['a JWKS without keys', { status: 200, body: '{"keys":null}' }],
  ])('fails closed with 503 on %s, never "unverified"', async (_what, response) => {
    answer = response;
    const keys = new GoogleKeySet(`${base}/down`, 'jwks');
    await expect(keys.getKey('any')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(keys.resolve({ alg: 'RS256', kid: 'any' })).rejects.toMatchObject({
      status: 503,
      code: 'upstream_unavailable',
    });
  });

  it('fails closed with 503 when nothing listens at the keys URL', async () => {
    const keys = new GoogleKeySet('http://127.0.0.1:9/certs', 'pem-certificates', { timeoutMs: 1000 });
    await expect(keys.getKey('any')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});
