/**
 * The public keys ID tokens and security events are signed with: `kid` → X.509 PEM
 * (v1) and a JWKS (v3), cacheable for `certsMaxAgeSeconds` like Google's.
 */
import type { EmulatorContext } from '../context';
import { json } from '../http';
import type { Route } from '../router';

export function certsRoutes(ctx: EmulatorContext): Route[] {
  const cacheHeaders = (): Record<string, string> => ({
    'cache-control': `public, max-age=${ctx.certsMaxAgeSeconds}, must-revalidate, no-transform`,
    expires: new Date(Date.now() + ctx.certsMaxAgeSeconds * 1000).toUTCString(),
  });
  return [
    {
      method: 'GET',
      pattern: '/oauth2/v1/certs',
      endpoint: 'certs',
      handle: () => json(200, ctx.keys.pemCertificates(), cacheHeaders()),
    },
    {
      method: 'GET',
      pattern: '/oauth2/v3/certs',
      endpoint: 'certs',
      handle: () => json(200, ctx.keys.jwks(), cacheHeaders()),
    },
  ];
}
