/**
 * Bearer checks for googleapis.com APIs (Drive, RISC), with Google's 401/403 bodies:
 * a missing, unknown, expired or revoked token is UNAUTHENTICATED; a token lacking
 * every accepted scope is PERMISSION_DENIED / insufficientPermissions.
 */
import type { EmulatorContext } from './context';
import { bearerToken, json, ResponseError, type EmulatorRequest } from './http';
import type { AccessToken } from './oauth/grants';
import { hasAnyScope } from './oauth/scopes';

const SEE_DEVCONSOLE = 'See https://developers.google.com/identity/sign-in/web/devconsole-project.';

/** The request's live access token (any scope), or a 401. */
export function authenticate(ctx: EmulatorContext, request: EmulatorRequest): AccessToken {
  const token = bearerToken(request);
  if (!token) {
    throw unauthenticated(
      `Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. ${SEE_DEVCONSOLE}`,
      'Login Required.',
      'required',
    );
  }
  const record = ctx.grants.findAccessToken(token);
  if (!record) {
    throw unauthenticated(
      `Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. ${SEE_DEVCONSOLE}`,
      'Invalid Credentials',
      'authError',
    );
  }
  return record;
}

/** A 403 unless the token carries at least one of `acceptedScopes`. */
export function requireScope(token: AccessToken, acceptedScopes: readonly string[], service: string): void {
  if (!hasAnyScope(token.scopes, acceptedScopes)) throw insufficientScopes(service);
}

function unauthenticated(message: string, errorMessage: string, reason: string): ResponseError {
  const error = { message: errorMessage, domain: 'global', reason, location: 'Authorization', locationType: 'header' };
  return new ResponseError(
    json(
      401,
      { error: { code: 401, message, errors: [error], status: 'UNAUTHENTICATED' } },
      {
        'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
      },
    ),
  );
}

function insufficientScopes(service: string): ResponseError {
  return new ResponseError(
    json(
      403,
      {
        error: {
          code: 403,
          message: 'Request had insufficient authentication scopes.',
          errors: [{ message: 'Insufficient Permission', domain: 'global', reason: 'insufficientPermissions' }],
          status: 'PERMISSION_DENIED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
              domain: 'googleapis.com',
              metadata: { service },
            },
          ],
        },
      },
      { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"' },
    ),
  );
}
