/**
 * Google as the refresh sees it, in memory: the token endpoint (refresh grant) and Drive,
 * sharing one project-wide quota that answers 429 above `qps` (a one-second bucket, as
 * Google enforces per-minute quotas in smaller windows), with a latency per request.
 * Errors take the exact shapes the real adapters produce (`fromGoogleError`, gaxios-style
 * errors for Drive), so the worker's own error mapping and retries run unchanged.
 */
import type { drive_v3 } from '@googleapis/drive';
import type { GoogleGateway, GoogleTokens } from '../../lib/google/gateway';
import { fromGoogleError } from '../../lib/google/oauth';
import type { DriveClientFactory } from '../../lib/jobs/drive';
import type { Meter } from './meter';

export const DRIVE_APPDATA = 'https://www.googleapis.com/auth/drive.appdata';

export interface SimGoogleOptions {
  qps: number;
  now: () => number;
  meter: Meter;
  random: () => number;
  /** Fraction of requests answered 503 (transient), besides the quota's 429s. */
  failureRate?: number;
  /** Fraction of refresh grants that return a new (rotated) refresh token. */
  rotationRate?: number;
  /** Users whose grant is dead (`invalid_grant`), by user ID. */
  isRevoked?: (userId: string) => boolean;
  /** Users, indexed by `indexOf`. */
  userCount: number;
  indexOf: (userId: string) => number | undefined;
  /** Files in a user's app data folder: a stable function of the user (and the run's changes). */
  filesOf: (userId: string) => { size: string; modifiedTime: string }[];
}

/** What one execution environment's client costs before the request leaves (CPU) and on the wire. */
export interface RequestHooks {
  /** The client's CPU and the time on the wire of one request. */
  request: (kind: 'token' | 'drive') => Promise<void>;
  /** Awaited before a Drive request (the worker's rate limiter, as the real client's interceptor does). */
  rateLimit?: () => Promise<void>;
  /** False once the client's environment has died: its requests in flight no longer count. */
  alive?: () => boolean;
}

export class SimGoogle {
  private tokens: number;
  private updatedAt: number;
  /** Refresh grants answered per user index (the simulation's "refreshed twice" check). */
  private readonly grants: Uint8Array;
  /** Users with a refresh grant in flight right now (two at once would break the lease guarantee). */
  readonly inFlight = new Map<string, RequestHooks>();
  concurrentGrants = 0;

  constructor(private readonly options: SimGoogleOptions) {
    this.tokens = options.qps;
    this.grants = new Uint8Array(options.userCount);
    this.updatedAt = options.now();
  }

  /** Whether the project's quota admits one more request now. */
  private admit(): boolean {
    const now = this.options.now();
    this.tokens = Math.min(this.options.qps, this.tokens + ((now - this.updatedAt) / 1000) * this.options.qps);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Count, then answer 429 / 503 when due; `undefined` means the request goes through. */
  private gate(endpoint: string): { status: number } | undefined {
    const { meter } = this.options;
    meter.count(meter.google.requests, endpoint);
    if (!this.admit()) {
      meter.google.throttled += 1;
      return { status: 429 };
    }
    if (this.options.random() < (this.options.failureRate ?? 0)) {
      meter.google.failed += 1;
      return { status: 503 };
    }
    return undefined;
  }

  usersGrantedTwice(): number {
    let twice = 0;
    for (const count of this.grants) if (count > 1) twice += 1;
    return twice;
  }

  gateway(hooks: RequestHooks): Pick<GoogleGateway, 'refreshAccessToken'> {
    return {
      refreshAccessToken: async (refreshToken: string): Promise<GoogleTokens> => {
        const userId = userOfToken(refreshToken);
        const other = this.inFlight.get(userId);
        if (other && (other.alive?.() ?? true)) this.concurrentGrants += 1;
        this.inFlight.set(userId, hooks);
        try {
          const refused = this.gate('oauth2.token');
          await hooks.request('token');
          if (refused) throw fromGoogleError(gaxiosError(refused.status, { error: 'rate_limit_exceeded' }), 'refresh');
          if (this.options.isRevoked?.(userId))
            throw fromGoogleError(
              gaxiosError(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }),
              'refresh',
            );
          const index = this.options.indexOf(userId);
          if (index !== undefined) this.grants[index] = Math.min(255, this.grants[index]! + 1);
          const rotated = this.options.random() < (this.options.rotationRate ?? 0);
          return {
            accessToken: `ya29.sim-${userId}`,
            ...(rotated ? { refreshToken: `${refreshToken}.r${this.options.now()}` } : {}),
            scopes: [DRIVE_APPDATA],
            expiresAt: this.options.now() + 3_600_000,
          };
        } finally {
          if (this.inFlight.get(userId) === hooks) this.inFlight.delete(userId);
        }
      },
    };
  }

  /**
   * Drive clients as the jobs use them. `files.list` answers the user's app data folder;
   * any other method is counted by its name and answers an empty page, so a job added
   * later is billed for its requests without changes here.
   */
  driveFactory(hooks: RequestHooks): DriveClientFactory {
    return (accessToken) => {
      const userId = accessToken.replace(/^ya29\.sim-/, '');
      const call = async (resource: string, method: string, params: unknown) => {
        await hooks.rateLimit?.();
        const refused = this.gate(`drive.${resource}.${method}`);
        await hooks.request('drive');
        if (refused)
          throw gaxiosError(refused.status, {
            error: { code: refused.status, errors: [{ reason: 'rateLimitExceeded' }] },
          });
        if (resource === 'files' && method === 'list') return { data: { files: this.options.filesOf(userId) } };
        return { data: {}, params };
      };
      const resources = new Proxy(
        {},
        {
          get: (_target, resource: string) =>
            new Proxy({}, { get: (_t, method: string) => (params: unknown) => call(resource, method, params) }),
        },
      );
      return resources as drive_v3.Drive;
    };
  }
}

export const tokenOfUser = (userId: string): string => `1//sim-${userId}`;
const userOfToken = (token: string): string => token.replace(/^1\/\/sim-/, '').replace(/(\.r\d+)+$/, '');

/** The shape of a gaxios failure: what the Google clients throw and our adapters map. */
function gaxiosError(status: number, data: unknown): Error {
  return Object.assign(new Error(`Request failed with status code ${status}`), {
    config: {},
    response: { status, data },
    status,
  });
}
