/** `POST /revoke` (Google also takes GET): revokes the whole grant behind an access or refresh token. */
import type { EmulatorContext } from '../context';
import { formParams, json, oauthError, type EmulatorRequest, type EmulatorResponse } from '../http';
import type { Route } from '../router';

export function revokeRoutes(ctx: EmulatorContext): Route[] {
  const route = (method: string): Route => ({
    method,
    pattern: '/revoke',
    endpoint: 'revoke',
    describe: (request) => {
      const owner = ctx.grants.ownerOf(tokenParam(request) ?? '');
      return { sub: owner?.sub, clientId: owner?.clientId };
    },
    handle: (request) => revoke(ctx, request),
  });
  return [route('POST'), route('GET')];
}

function revoke(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const token = tokenParam(request);
  if (!token) return oauthError(400, 'invalid_request', 'Missing required parameter: token');
  if (!ctx.grants.revokeToken(token)) return oauthError(400, 'invalid_token', 'Token expired or revoked');
  return json(200, {});
}

function tokenParam(request: EmulatorRequest): string | undefined {
  return request.query.get('token') ?? formParams(request).get('token') ?? undefined;
}
