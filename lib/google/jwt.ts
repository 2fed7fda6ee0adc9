/**
 * Minimal RS256 JWT verification against Google's published keys. We verify ourselves
 * rather than through google-auth-library because we need what it does not do: refetch
 * once on an unknown `kid` (keys rotate), fail closed with 503 when keys cannot be fetched,
 * cache parsed `KeyObject`s, and errors that never echo the token.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { UpstreamUnavailableError } from '../errors';

export interface DecodedJwt {
  header: { alg?: unknown; kid?: unknown; typ?: unknown };
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export class JwtError extends Error {
  override readonly name = 'JwtError';
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[\w-]*$/.test(part)))
    throw new JwtError('Token is not a compact JWS');
  const [header, payload, signature] = parts as [string, string, string];
  try {
    return {
      header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as DecodedJwt['header'],
      payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>,
      signingInput: `${header}.${payload}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    throw new JwtError('Token header or payload is not JSON');
  }
}

export type KeyFormat = 'pem-certificates' | 'jwks';

export interface RemoteKeySetOptions {
  /** Seconds to cache keys when the response has no max-age (default 3600). */
  defaultMaxAgeSeconds?: number;
  /** Refetches that unknown kids may trigger per minute (default 5). */
  maxKidRefetchesPerMinute?: number;
  timeoutMs?: number;
  now?: () => number;
}

/** Google's signing keys at one URL, cached per the response's `Cache-Control: max-age`. */
export class RemoteKeySet {
  private keys = new Map<string, KeyObject>();
  private expiresAt = 0;
  /** When recent unknown-kid refetches happened (at most `maxKidRefetchesPerMinute` kept). */
  private kidRefetches: number[] = [];
  private inflight: Promise<void> | undefined;
  private readonly options: Required<Omit<RemoteKeySetOptions, 'now'>> & { now: () => number };

  constructor(
    private readonly url: string | (() => Promise<string>),
    private readonly format: KeyFormat,
    options: RemoteKeySetOptions = {},
  ) {
    this.options = {
      defaultMaxAgeSeconds: options.defaultMaxAgeSeconds ?? 3600,
      maxKidRefetchesPerMinute: options.maxKidRefetchesPerMinute ?? 5,
      timeoutMs: options.timeoutMs ?? 5000,
      now: options.now ?? Date.now,
    };
  }

  /**
   * The key for `kid`, or `undefined` when Google does not publish it even after one refetch.
   * @throws UpstreamUnavailableError when the keys cannot be fetched (fail closed).
   */
  async getKey(kid: string): Promise<KeyObject | undefined> {
    const now = this.options.now();
    if (now >= this.expiresAt) await this.refresh();
    const known = this.keys.get(kid);
    if (known) return known;
    // Keys rotate: an unknown kid earns one refetch. A few per minute at most, so a flood of junk
    // kids cannot make us hammer Google, while one bad token cannot block a real rotation either.
    this.kidRefetches = this.kidRefetches.filter((at) => now - at < 60_000);
    if (this.kidRefetches.length >= this.options.maxKidRefetchesPerMinute) return undefined;
    this.kidRefetches.push(now);
    await this.refresh();
    return this.keys.get(kid);
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let body: unknown;
    let maxAge = this.options.defaultMaxAgeSeconds;
    try {
      const url = typeof this.url === 'string' ? this.url : await this.url();
      const response = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
      const match = /max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '');
      if (match?.[1]) maxAge = Number(match[1]);
    } catch (error) {
      throw new UpstreamUnavailableError("Google's signing keys could not be fetched", {
        cause: error instanceof Error ? new Error(error.message) : undefined,
      });
    }
    this.keys = parseKeys(body, this.format);
    this.expiresAt = this.options.now() + maxAge * 1000;
  }
}

function parseKeys(body: unknown, format: KeyFormat): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  if (typeof body !== 'object' || body === null) return keys;
  if (format === 'pem-certificates') {
    for (const [kid, pem] of Object.entries(body)) {
      if (typeof pem === 'string') keys.set(kid, createPublicKey(pem));
    }
    return keys;
  }
  const list = (body as { keys?: unknown }).keys;
  for (const jwk of Array.isArray(list) ? list : []) {
    const { kid, kty } = jwk as { kid?: unknown; kty?: unknown };
    if (typeof kid === 'string' && kty === 'RSA') keys.set(kid, createPublicKey({ key: jwk as never, format: 'jwk' }));
  }
  return keys;
}

/**
 * Verifies an RS256 signature with the key named by the header's `kid`.
 * @throws JwtError for a malformed token, another algorithm, an unknown kid or a bad signature.
 */
export async function verifyRs256(token: string, keySet: RemoteKeySet): Promise<DecodedJwt> {
  const jwt = decodeJwt(token);
  if (jwt.header.alg !== 'RS256') throw new JwtError('Token algorithm must be RS256');
  if (typeof jwt.header.kid !== 'string' || !jwt.header.kid) throw new JwtError('Token has no key id');
  const key = await keySet.getKey(jwt.header.kid);
  if (!key) throw new JwtError('Token is signed with an unknown key');
  if (!verifySignature('RSA-SHA256', Buffer.from(jwt.signingInput), key, jwt.signature)) {
    throw new JwtError('Token signature is invalid');
  }
  return jwt;
}
