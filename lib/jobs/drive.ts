/**
 * Drive v3 clients for offline jobs, from the Drive-only package (importing all of
 * `googleapis` costs about a second of cold start). Each client holds one user's fresh
 * access token, never retries by itself (the refresh worker is the one retry layer), and
 * waits for the Google rate limiter before every request.
 *
 * The Drive package (with googleapis-common and the whole of google-auth-library it imports,
 * a third of a bundle) is loaded when the first client is made, not when the function loads:
 * `/disconnect` needs it only for a user with a Drive push channel.
 */
import type { drive_v3 } from '@googleapis/drive';
import { UpstreamUnavailableError } from '../errors';
import { fromGoogleError } from '../google/oauth';
import { onceAsync } from '../memo';

export type DriveClientFactory = (accessToken: string) => drive_v3.Drive | Promise<drive_v3.Drive>;

const driveModules = onceAsync(() => Promise.all([import('@googleapis/drive'), import('google-auth-library')]));

export interface DriveClientOptions {
  /** Root of googleapis URLs (the emulator's); default Google's. */
  rootUrl?: string;
  /** Per-request timeout (default 10 s): a hung request must not hold a worker's batch. */
  timeoutMs?: number;
  /** Awaited before each request (the rate limiter). */
  beforeRequest?: () => Promise<void>;
}

export function driveClientFactory(options: DriveClientOptions = {}): DriveClientFactory {
  return async (accessToken) => {
    const [{ drive }, { OAuth2Client }] = await driveModules();
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: accessToken });
    const { beforeRequest } = options;
    if (beforeRequest) {
      auth.transporter.interceptors.request.add({
        resolved: async (config) => {
          await beforeRequest();
          return config;
        },
      });
    }
    return drive({
      version: 'v3',
      auth,
      retry: false,
      // Node's own fetch: otherwise gaxios dynamic-imports node-fetch (ESM) on the first request.
      fetchImplementation: fetch,
      timeout: options.timeoutMs ?? 10_000,
      ...(options.rootUrl ? { rootUrl: options.rootUrl } : {}),
    });
  };
}

const DRIVE_RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

/**
 * A Drive failure in our error hierarchy (no request details: they carry the bearer token).
 * Drive signals some rate limits with 403 rather than 429: those are transient too.
 * Errors that did not come from an HTTP call (a job's own bug) pass through unchanged.
 */
export function toDriveError(error: unknown, operation: string): unknown {
  if (!(error instanceof Error) || !('config' in error)) return error;
  const response = (error as { response?: { status?: unknown; data?: unknown } }).response;
  const reason = (response?.data as { error?: { errors?: { reason?: unknown }[] } } | undefined)?.error?.errors?.[0]
    ?.reason;
  if (response?.status === 403 && typeof reason === 'string' && DRIVE_RATE_LIMIT_REASONS.has(reason)) {
    return new UpstreamUnavailableError(`Google Drive rate limit (${operation})`, {
      cause: new Error(`HTTP 403 ${reason}`),
    });
  }
  return fromGoogleError(error, operation);
}
