/**
 * `/tokeninfo?access_token=…|id_token=…` (query, form or Bearer header, GET or POST):
 * Google's debugging endpoint, which reports every value as a string.
 */
import { unixSeconds } from '../clock';
import type { EmulatorContext } from '../context';
import { bearerToken, formParams, json, oauthError, type EmulatorRequest, type EmulatorResponse } from '../http';
import { decodeJwt, hasValidRs256Signature } from '../jwt';
import type { Route } from '../router';
import { SCOPES } from './scopes';

export function tokeninfoRoutes(ctx: EmulatorContext): Route[] {
  const route = (method: string): Route => ({
    method,
    pattern: '/tokeninfo',
    endpoint: 'tokeninfo',
    describe: (request) => ({ sub: ctx.grants.ownerOf(accessTokenParam(request) ?? '')?.sub }),
    handle: (request) => tokeninfo(ctx, request),
  });
  return [route('GET'), route('POST')];
}

const invalidToken = (): EmulatorResponse => oauthError(400, 'invalid_token', 'Invalid Value');

function tokeninfo(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const idToken = request.query.get('id_token') ?? formParams(request).get('id_token');
  if (idToken) return idTokenInfo(ctx, idToken);
  const accessToken = accessTokenParam(request);
  return accessToken ? accessTokenInfo(ctx, accessToken) : invalidToken();
}

function accessTokenInfo(ctx: EmulatorContext, token: string): EmulatorResponse {
  const record = ctx.grants.findAccessToken(token);
  if (!record) return invalidToken();
  const profile = record.kind === 'user' ? ctx.grants.findGrant(record.clientId, record.owner)?.profile : undefined;
  const expiresIn = Math.floor((record.expiresAtMs - ctx.clock.nowMs()) / 1000);
  return json(200, {
    azp: record.clientId,
    aud: record.clientId,
    ...(profile ? { sub: profile.sub } : {}),
    scope: record.scopes.join(' '),
    exp: String(Math.floor(record.expiresAtMs / 1000)),
    expires_in: String(expiresIn),
    ...(profile && record.scopes.includes(SCOPES.email)
      ? { email: profile.email, email_verified: String(profile.emailVerified) }
      : {}),
    access_type: 'offline',
  });
}

function idTokenInfo(ctx: EmulatorContext, token: string): EmulatorResponse {
  const jwt = decodeJwt(token);
  const key = jwt?.header.kid ? ctx.keys.find(jwt.header.kid) : undefined;
  if (!jwt || !key || !hasValidRs256Signature(jwt, key.publicKey)) return invalidToken();
  if (typeof jwt.claims.exp !== 'number' || jwt.claims.exp <= unixSeconds()) return invalidToken();
  const asStrings = Object.entries({ ...jwt.claims, ...jwt.header }).map(([name, value]) => [
    name,
    typeof value === 'string' ? value : JSON.stringify(value),
  ]);
  return json(200, Object.fromEntries(asStrings));
}

function accessTokenParam(request: EmulatorRequest): string | undefined {
  return request.query.get('access_token') ?? formParams(request).get('access_token') ?? bearerToken(request);
}
