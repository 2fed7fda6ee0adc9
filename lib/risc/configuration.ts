/**
 * Google's RISC discovery document (`/.well-known/risc-configuration`): where the keys that
 * sign security event tokens live (`jwks_uri`). Fetched on first use and cached, so key
 * refetches (rotation, unknown `kid`) cost one request, not two.
 */
export interface RiscConfigurationOptions {
  /** Seconds to keep the document when the response has no max-age (default 3600). */
  defaultMaxAgeSeconds?: number;
  timeoutMs?: number;
  now?: () => number;
}

export class RiscConfigurationSource {
  private cached: { jwksUri: string; expiresAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  private readonly now: () => number;

  constructor(
    readonly url: string,
    private readonly options: RiscConfigurationOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The `jwks_uri` the discovery document names.
   * @throws Error when the document cannot be fetched or names no `jwks_uri`
   * (`GoogleKeySet` turns that into a 503).
   */
  jwksUri(): Promise<string> {
    if (this.cached && this.now() < this.cached.expiresAt) return Promise.resolve(this.cached.jwksUri);
    this.inflight ??= this.fetchJwksUri().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchJwksUri(): Promise<string> {
    const response = await fetch(this.url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) });
    if (!response.ok) throw new Error(`RISC configuration: HTTP ${response.status}`);
    const body = (await response.json()) as { jwks_uri?: unknown };
    if (typeof body.jwks_uri !== 'string' || !/^https?:\/\//.test(body.jwks_uri)) {
      throw new Error('RISC configuration names no jwks_uri');
    }
    const match = /max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '');
    const maxAge = match?.[1] ? Number(match[1]) : (this.options.defaultMaxAgeSeconds ?? 3600);
    this.cached = { jwksUri: body.jwks_uri, expiresAt: this.now() + maxAge * 1000 };
    return body.jwks_uri;
  }
}
