import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteKeySet, verifyRs256 } from '../../lib/google/jwt';

/** A JWKS endpoint whose keys the test rotates, counting fetches. */
let server: Server;
let url: string;
let fetches = 0;
let published: { kid: string; jwk: object }[] = [];

const newKey = (kid: string) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
};

const signed = (key: ReturnType<typeof newKey>, kid = key.kid) => {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: '1' })).toString('base64url');
  const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), key.privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
};

beforeAll(async () => {
  server = createServer((_request, response) => {
    fetches++;
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
    response.end(JSON.stringify({ keys: published.map((entry) => entry.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('RemoteKeySet', () => {
  it('caches keys per max-age and refetches once for a rotated kid', async () => {
    const first = newKey('k1');
    published = [first];
    let now = 0;
    const keys = new RemoteKeySet(url, 'jwks', { now: () => now });
    fetches = 0;
    await verifyRs256(signed(first), keys);
    await verifyRs256(signed(first), keys);
    expect(fetches).toBe(1);

    const second = newKey('k2');
    published = [first, second];
    await expect(verifyRs256(signed(second), keys)).resolves.toBeDefined();
    expect(fetches).toBe(2);

    now += 3601_000; // past max-age: fetched again even for a known kid
    await verifyRs256(signed(first), keys);
    expect(fetches).toBe(3);
  });

  it('bounds the refetches junk kids can cause, and a real rotation still gets through after one', async () => {
    const current = newKey('current');
    published = [current];
    let now = 0;
    const keys = new RemoteKeySet(url, 'jwks', { now: () => now });
    await verifyRs256(signed(current), keys);

    // One bad token with an unknown kid, then Google rotates: the new kid still verifies.
    await expect(verifyRs256(signed(current, 'junk-0'), keys)).rejects.toThrow('unknown key');
    const rotated = newKey('rotated');
    published = [current, rotated];
    await expect(verifyRs256(signed(rotated), keys)).resolves.toBeDefined();

    // A flood of junk kids: at most five refetches a minute.
    fetches = 0;
    for (let i = 1; i <= 50; i++) await expect(verifyRs256(signed(current, `junk-${i}`), keys)).rejects.toThrow();
    expect(fetches).toBeLessThanOrEqual(5);
    now += 61_000;
    await expect(verifyRs256(signed(current, 'junk-later'), keys)).rejects.toThrow();
    expect(fetches).toBeLessThanOrEqual(6);
  });
});
