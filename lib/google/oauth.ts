/**
 * The Google OAuth gateway: code redemption, refresh grant and revocation through
 * google-auth-library, with its automatic retries switched off (a code is single-use and
 * re-sending one may revoke the grant; the refresh worker retries at its own layer) and
 * every failure turned into our error hierarchy without the request body or tokens.
 */
// Narrow import: the package root also loads GoogleAuth (child_process, gcp-metadata, json-bigint,
// pluggable auth), which a function that only holds our own client secret never uses; it costs
// cold start. Same module as the root's export, so the class is the same.
import { OAuth2Client } from 'google-auth-library/build/src/auth/oauth2client';
import { AppError, InvalidGrantError, UpstreamError, UpstreamUnavailableError } from '../errors';
import { rememberIssuedSecret } from '../redact';
import type { OAuthClientCredentials } from './client-secret';
import type { GoogleEndpoints } from './endpoints';
import type { GoogleGateway, GoogleTokens } from './gateway';

export interface GoogleOAuthOptions {
  timeoutMs?: number;
}

/** Exposes the refresh grant for a given token without touching the client's own credentials. */
class ServerOAuthClient extends OAuth2Client {
  refreshGrant(refreshToken: string) {
    return this.refreshToken(refreshToken);
  }
}

export class GoogleOAuth implements GoogleGateway {
  readonly client: ServerOAuthClient;

  constructor(
    readonly credentials: OAuthClientCredentials,
    readonly endpoints: GoogleEndpoints,
    options: GoogleOAuthOptions = {},
  ) {
    this.client = new ServerOAuthClient({
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      endpoints: {
        oauth2TokenUrl: endpoints.tokenUrl,
        oauth2RevokeUrl: endpoints.revokeUrl,
        tokenInfoUrl: endpoints.tokenInfoUrl,
        oauth2FederatedSignonPemCertsUrl: endpoints.pemCertsUrl,
        oauth2FederatedSignonJwkCertsUrl: endpoints.jwkCertsUrl,
      },
      // Node's own fetch: gaxios would otherwise lazy-import node-fetch (cold-start cost, and jest's VM refuses it).
      transporterOptions: { fetchImplementation: fetch },
    });
    const timeout = options.timeoutMs ?? 10_000;
    this.client.transporter.interceptors.request.add({
      // gaxios turns `timeout` into an abort signal before request interceptors run, so a
      // timeout set here alone never fires (a hung Google held a request for undici's 300 s):
      // the signal is set here too.
      resolved: (config) =>
        Promise.resolve({
          ...config,
          timeout,
          signal: config.signal
            ? AbortSignal.any([config.signal, AbortSignal.timeout(timeout)])
            : AbortSignal.timeout(timeout),
          retry: false,
          retryConfig: { retry: 0, noResponseRetries: 0 },
        }),
    });
  }

  /** Redeems a one-time server auth code. Never retried. */
  async redeemCode(code: string, redirectUri: string): Promise<GoogleTokens> {
    try {
      const { tokens } = await this.client.getToken({ code, redirect_uri: redirectUri });
      return toGoogleTokens(tokens);
    } catch (error) {
      throw fromGoogleError(error, 'code exchange');
    }
  }

  /** Gets a fresh access token with the refresh grant. */
  async refreshAccessToken(refreshToken: string): Promise<GoogleTokens> {
    try {
      const { tokens } = await this.client.refreshGrant(refreshToken);
      return toGoogleTokens(tokens);
    } catch (error) {
      throw fromGoogleError(error, 'token refresh');
    }
  }

  /** Revokes a token (access or refresh; either ends the grant). An already-dead token counts as revoked. */
  async revoke(token: string): Promise<void> {
    try {
      // In the form body, not the query string where google-auth-library's revokeToken puts it:
      // URLs end up in logs along the way.
      await this.client.transporter.request({
        url: this.endpoints.revokeUrl,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        data: new URLSearchParams({ token }).toString(),
      });
    } catch (error) {
      const mapped = fromGoogleError(error, 'token revocation');
      if (mapped instanceof InvalidGrantError || mapped.googleError === 'invalid_token') return;
      throw mapped;
    }
  }
}

function toGoogleTokens(tokens: {
  access_token?: string | null;
  refresh_token?: string | null;
  id_token?: string | null;
  scope?: string | null;
  expiry_date?: number | null;
}): GoogleTokens {
  if (!tokens.access_token) throw new UpstreamError('Google returned no access token');
  for (const secret of [tokens.access_token, tokens.refresh_token, tokens.id_token]) rememberIssuedSecret(secret);
  return {
    accessToken: tokens.access_token,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
    scopes: (tokens.scope ?? '').split(/\s+/).filter(Boolean),
    ...(tokens.expiry_date ? { expiresAt: tokens.expiry_date } : {}),
  };
}

/** Google's `error` when a Workspace administrator restricts the app or one of its scopes. */
const ADMIN_POLICY_ENFORCED = 'admin_policy_enforced';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ABORT_ERR',
  'UND_ERR_SOCKET',
]);

/**
 * Maps a google-auth-library / gaxios failure to our hierarchy. The gaxios error embeds the
 * request body (code, refresh token, client secret) in its config: only status and Google's
 * error code survive.
 */
export function fromGoogleError(error: unknown, operation: string): AppError {
  if (error instanceof AppError) return error;
  // gaxios errors carry `response`; duck-typed so we do not depend on gaxios directly.
  const response = (error as { response?: { status?: unknown; data?: unknown } } | undefined)?.response;
  const status = typeof response?.status === 'number' ? response.status : undefined;
  const data = response?.data as { error?: unknown; error_description?: unknown; error_subtype?: unknown } | undefined;
  const googleError = typeof data?.error === 'string' ? data.error : undefined;
  const context = {
    ...(googleError ? { googleError } : {}),
    ...(status !== undefined ? { googleStatus: status } : {}),
  };
  const summary = new Error(
    `Google ${operation} failed${status ? ` with HTTP ${status}` : ''}${googleError ? ` (${googleError})` : ''}`,
  );
  // A Workspace admin's block ends the grant as surely as invalid_grant does: never worth retrying.
  if (googleError === 'invalid_grant' || googleError === ADMIN_POLICY_ENFORCED) {
    const description = typeof data?.error_description === 'string' ? data.error_description : 'Bad Request';
    const subtype = typeof data?.error_subtype === 'string' ? data.error_subtype.slice(0, 64) : undefined;
    return new InvalidGrantError(`Google rejected the grant: ${description}`, description, {
      error: googleError,
      ...(subtype ? { subtype } : {}),
    });
  }
  if (googleError === 'redirect_uri_mismatch') {
    // We only ever send '' or 'postmessage', both always valid: the code came from the other flow.
    return new InvalidGrantError(
      'Google rejected the code: it was issued for another flow (send redirectUri "postmessage" for web popup codes, "" for Android)',
      googleError,
    );
  }
  if (status === 429 || (status !== undefined && status >= 500)) {
    return new UpstreamUnavailableError(`Google is unavailable (${operation})`, { cause: summary, ...context });
  }
  if (status === undefined) {
    const code = (error as { code?: unknown } | undefined)?.code;
    const timedOut = typeof code === 'string' && UNAVAILABLE_CODES.has(code);
    return new UpstreamUnavailableError(`Google could not be reached (${operation}${timedOut ? `: ${code}` : ''})`, {
      cause: summary,
    });
  }
  return new UpstreamError(
    `Google answered the ${operation} unexpectedly (HTTP ${status}${googleError ? ` ${googleError}` : ''})`,
    { cause: summary, ...context },
  );
}
