/**
 * `POST /token`: the authorization-code, refresh-token and JWT-bearer grants, with
 * Google's statuses and `{error, error_description}` bodies.
 */
import { unixSeconds } from '../clock';
import type { EmulatorContext } from '../context';
import { formParams, json, oauthError, safeDecode, type EmulatorRequest, type EmulatorResponse } from '../http';
import type { Route } from '../router';
import type { RequestFacts } from '../request-log';
import type { RegisteredClient } from './clients';
import {
  ACCESS_TOKEN_LIFETIME_S,
  CODE_PATTERN,
  TESTING_REFRESH_TOKEN_LIFETIME_MS,
  type Grant,
  type RefreshFailureCause,
} from './grants';
import { signIdTokenWithOverride, type IdTokenOverride } from './id-token-overrides';
import { SCOPES } from './scopes';
import { idTokenClaims } from './users';

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** google-auth-library's JWT client signs assertions for this audience whatever the token URL. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const NO_STORE = { 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate', pragma: 'no-cache' };
const invalidGrant = (description: string): EmulatorResponse => oauthError(400, 'invalid_grant', description);
const REVOKED = 'Token has been expired or revoked.';

export function tokenRoutes(ctx: EmulatorContext): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/token',
      endpoint: 'token',
      describe: (request) => describeTokenRequest(ctx, request),
      handle: (request) => handleTokenRequest(ctx, request),
    },
  ];
}

function describeTokenRequest(ctx: EmulatorContext, request: EmulatorRequest): RequestFacts {
  const params = formParams(request);
  const code = params.get('code');
  const refreshToken = params.get('refresh_token');
  const sub = code
    ? ctx.grants.findCode(code)?.sub
    : refreshToken
      ? ctx.grants.findGrantByRefreshToken(refreshToken)?.sub
      : undefined;
  return {
    grantType: params.get('grant_type') ?? undefined,
    clientId: clientCredentials(request, params).clientId,
    sub,
  };
}

function handleTokenRequest(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const params = formParams(request);
  const grantType = params.get('grant_type');
  if (grantType === JWT_BEARER_GRANT) return jwtBearerGrant(ctx, params);
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
    return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`);
  }
  const client = authenticateClient(ctx, request, params);
  if ('status' in client) return client;
  return grantType === 'authorization_code'
    ? authorizationCodeGrant(ctx, client, params)
    : refreshTokenGrant(ctx, client, params);
}

function authorizationCodeGrant(
  ctx: EmulatorContext,
  client: RegisteredClient,
  params: URLSearchParams,
): EmulatorResponse {
  const code = params.get('code');
  if (!code) return oauthError(400, 'invalid_request', 'Missing required parameter: code');
  const record = ctx.grants.findCode(code);
  if (!record) return invalidGrant(CODE_PATTERN.test(code) ? 'Bad Request' : 'Malformed auth code.');
  if (record.redeemed || ctx.grants.isCodeExpired(record) || record.clientId !== client.clientId) {
    return invalidGrant('Bad Request');
  }
  // google-auth-library drops an empty redirect_uri, so absent means '' (Android codes).
  const redirectUri = params.get('redirect_uri') ?? '';
  if (!client.redirectUris.includes(redirectUri)) return oauthError(400, 'redirect_uri_mismatch', 'Bad Request');
  if (redirectUri !== record.redirectUri) return invalidGrant('Bad Request');

  const grant = ctx.grants.redeemCode(record);
  if (!grant) return invalidGrant('Bad Request');
  const refreshToken = record.consentShown ? ctx.grants.issueRefreshToken(grant) : undefined;
  return userTokenResponse(ctx, grant, {
    scopes: record.scopes,
    azp: record.azp,
    refreshToken,
    idTokenOverride: record.idTokenOverride,
  });
}

function refreshTokenGrant(ctx: EmulatorContext, client: RegisteredClient, params: URLSearchParams): EmulatorResponse {
  const refreshToken = params.get('refresh_token');
  if (!refreshToken) return oauthError(400, 'invalid_request', 'Missing required parameter: refresh_token');
  const grant = ctx.grants.findGrantByRefreshToken(refreshToken);
  if (!grant) return invalidGrant(REVOKED);
  if (grant.clientId !== client.clientId) return oauthError(400, 'unauthorized_client', 'Unauthorized');
  // An app whose consent screen is still in "Testing" gets refresh tokens that die after 7 days.
  if (
    client.publishingStatus === 'testing' &&
    (ctx.grants.refreshTokenAgeMs(refreshToken) ?? 0) >= TESTING_REFRESH_TOKEN_LIFETIME_MS
  ) {
    ctx.grants.revokeToken(refreshToken);
    return invalidGrant(REVOKED);
  }
  const failure = ctx.grants.refreshFailureOf(grant, refreshToken);
  if (failure) return refreshFailure(failure);
  const rotated = ctx.grants.rotateIfRequested(grant, refreshToken);
  return userTokenResponse(ctx, grant, { scopes: grant.scopes, azp: client.clientId, refreshToken: rotated });
}

/** Google's answers to a refresh token it will not honour, byte for byte as seen in the field. */
export function refreshFailureBody(cause: RefreshFailureCause): Record<string, string> {
  switch (cause) {
    case 'revoked':
      return { error: 'invalid_grant', error_description: REVOKED };
    case 'invalid_rapt':
      return {
        error: 'invalid_grant',
        error_description: 'reauth related error (invalid_rapt)',
        error_uri: 'https://support.google.com/a/answer/9368756',
        error_subtype: 'invalid_rapt',
      };
    case 'admin_policy_enforced':
      return {
        error: 'admin_policy_enforced',
        error_description:
          'Access to your account data is restricted by policies within your organization. Please contact the administrator for more information.',
      };
  }
}

function refreshFailure(cause: RefreshFailureCause): EmulatorResponse {
  return json(400, refreshFailureBody(cause), NO_STORE);
}

function userTokenResponse(
  ctx: EmulatorContext,
  grant: Grant,
  issue: { scopes: string[]; azp: string; refreshToken?: string; idTokenOverride?: IdTokenOverride },
): EmulatorResponse {
  const accessToken = ctx.grants.issueAccessToken({
    clientId: grant.clientId,
    owner: grant.sub,
    kind: 'user',
    scopes: issue.scopes,
  });
  const claims = idTokenClaims({
    profile: grant.profile,
    scopes: issue.scopes,
    aud: grant.clientId,
    azp: issue.azp,
    iatSeconds: unixSeconds(),
    accessToken,
  });
  const idToken = issue.scopes.includes(SCOPES.openid)
    ? ctx.issued.add(
        signIdTokenWithOverride(
          ctx.keys,
          claims,
          issue.idTokenOverride ?? {},
          ctx.clients.get(grant.clientId)?.clientSecret,
        ),
      )
    : undefined;
  return json(
    200,
    {
      access_token: accessToken,
      expires_in: ACCESS_TOKEN_LIFETIME_S,
      ...(issue.refreshToken ? { refresh_token: issue.refreshToken } : {}),
      scope: issue.scopes.join(' '),
      token_type: 'Bearer',
      ...(idToken ? { id_token: idToken } : {}),
    },
    NO_STORE,
  );
}

function jwtBearerGrant(ctx: EmulatorContext, params: URLSearchParams): EmulatorResponse {
  const assertion = params.get('assertion');
  if (!assertion) return oauthError(400, 'invalid_request', 'Missing required parameter: assertion');
  const audiences = [`${ctx.baseUrl()}/token`, GOOGLE_TOKEN_URL];
  const check = ctx.serviceAccounts.checkAssertion(assertion, audiences, unixSeconds());
  if (!check.ok) return oauthError(400, check.error, check.description);
  const accessToken = ctx.grants.issueAccessToken({
    clientId: check.clientId,
    owner: check.email,
    kind: 'serviceAccount',
    scopes: check.scopes,
  });
  return json(200, { access_token: accessToken, expires_in: ACCESS_TOKEN_LIFETIME_S, token_type: 'Bearer' }, NO_STORE);
}

/** HTTP Basic takes precedence over form fields, as RFC 6749 section 2.3.1 prefers. */
function clientCredentials(request: EmulatorRequest, params: URLSearchParams): { clientId?: string; secret?: string } {
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      return {
        clientId: safeDecode(decoded.slice(0, colon)),
        secret: safeDecode(decoded.slice(colon + 1)),
      };
    }
  }
  return { clientId: params.get('client_id') ?? undefined, secret: params.get('client_secret') ?? undefined };
}

function authenticateClient(
  ctx: EmulatorContext,
  request: EmulatorRequest,
  params: URLSearchParams,
): RegisteredClient | EmulatorResponse {
  const { clientId, secret } = clientCredentials(request, params);
  if (!clientId) return oauthError(400, 'invalid_request', 'Could not determine client ID from request.');
  const client = ctx.clients.get(clientId);
  if (!client) return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
  if (!secret) return oauthError(400, 'invalid_request', 'client_secret is missing.');
  if (secret !== client.clientSecret) return oauthError(401, 'invalid_client', 'Unauthorized');
  return client;
}
