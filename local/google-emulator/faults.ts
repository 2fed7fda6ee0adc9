/**
 * Injected failures: the next `count` requests to an endpoint (optionally only those
 * concerning one user) answer with an error status, hang until close, or have their
 * connection reset. 401 and 403 are Drive's answers for a dead access token and for
 * `userRateLimitExceeded`; on the OAuth endpoints they are `invalid_client` and `access_denied`.
 */
import { apiError, oauthError, type EmulatorResponse } from './http';
import type { GoogleEndpoint } from './request-log';

const FAULT_ENDPOINTS: readonly GoogleEndpoint[] = ['token', 'revoke', 'certs', 'drive', 'risc', 'tokeninfo'];
const FAULT_KINDS = [500, 503, 429, 401, 403, 'hang', 'reset'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  endpoint: GoogleEndpoint;
  kind: FaultKind;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** Only requests concerning this user (refresh grant with their token, Drive call with their token). */
  sub?: string;
}

interface PendingFault {
  endpoint: GoogleEndpoint;
  kind: FaultKind;
  remaining: number;
  sub?: string;
}

export class FaultInjector {
  private pending: PendingFault[] = [];

  add(spec: FaultSpec): void {
    if (!FAULT_ENDPOINTS.includes(spec.endpoint))
      throw new RangeError(`unknown fault endpoint: ${String(spec.endpoint)}`);
    if (!FAULT_KINDS.includes(spec.kind)) throw new RangeError(`unknown fault kind: ${String(spec.kind)}`);
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError('fault count must be a positive integer');
    this.pending.push({ endpoint: spec.endpoint, kind: spec.kind, remaining: count, sub: spec.sub });
  }

  clear(): void {
    this.pending = [];
  }

  /** Consumes one use of the first fault matching this request, if any. */
  take(endpoint: GoogleEndpoint, sub: string | undefined): FaultKind | undefined {
    const fault = this.pending.find((f) => f.endpoint === endpoint && (f.sub === undefined || f.sub === sub));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.pending = this.pending.filter((f) => f !== fault);
    return fault.kind;
  }
}

const OAUTH_ENDPOINTS: readonly GoogleEndpoint[] = ['token', 'revoke', 'tokeninfo'];

/** The error body Google sends for this status, in the endpoint's dialect. */
export function faultResponse(endpoint: GoogleEndpoint, status: 500 | 503 | 429 | 401 | 403): EmulatorResponse {
  if (OAUTH_ENDPOINTS.includes(endpoint)) {
    if (status === 401) return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    if (status === 403) return oauthError(403, 'access_denied', 'Access denied.');
    if (status === 429) return oauthError(429, 'rate_limit_exceeded', 'Rate Limit Exceeded');
    if (status === 503) return oauthError(503, 'temporarily_unavailable', 'The service is currently unavailable.');
    return oauthError(500, 'internal_failure', 'Backend Error');
  }
  if (status === 401) {
    return apiError(401, 'Request had invalid authentication credentials.', {
      reason: 'authError',
      status: 'UNAUTHENTICATED',
    });
  }
  if (status === 403) {
    return apiError(403, 'User rate limit exceeded.', { reason: 'userRateLimitExceeded', status: 'PERMISSION_DENIED' });
  }
  if (status === 429) {
    return apiError(429, 'Rate Limit Exceeded', { reason: 'rateLimitExceeded', status: 'RESOURCE_EXHAUSTED' });
  }
  if (status === 503) {
    return apiError(503, 'The service is currently unavailable.', { reason: 'backendError', status: 'UNAVAILABLE' });
  }
  return apiError(500, 'Internal error encountered.', { reason: 'internalError', status: 'INTERNAL' });
}
