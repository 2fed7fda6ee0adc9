/**
 * The connection status the apps see (DESIGN.md "Connection status, reasons and events"):
 * one pure mapping from a stored user record to `{ status, reason?, offlineAccess, scopes }`,
 * and the classification of Google's `invalid_grant` answers into the closed list of reasons.
 * `GET /connection`, the token function and the connection-events publisher all call these,
 * so a status means the same thing everywhere.
 */
import type { ConnectionReason, LostGrantReason, UserRecord } from './store/users';

// The reasons are store vocabulary (the record keeps one); re-exported for the apps' side.
export type { ConnectionReason, LostGrantReason } from './store/users';

export type ConnectionStatus = 'active' | 'needs_reconnect' | 'disconnected' | 'not_connected';

export const CONNECTION_REASONS: readonly ConnectionReason[] = [
  'no_refresh_token',
  'missing_scopes',
  'revoked',
  'testing_mode_expiry',
  'reauth_required',
  'admin_policy',
  'account_disabled',
  'user_disconnected',
];

export interface ConnectionState {
  status: ConnectionStatus;
  /** Present exactly when `status` is not `active`. */
  reason?: ConnectionReason;
  /** A usable refresh token with every required scope is stored. */
  offlineAccess: boolean;
  grantedScopes: string[];
  missingScopes: string[];
}

export const isConnectionReason = (value: unknown): value is ConnectionReason =>
  typeof value === 'string' && (CONNECTION_REASONS as readonly string[]).includes(value);

/** Reasons under which Google still holds the user's (partial) grant, so its scopes still count. */
const GRANT_KEPT: ReadonlySet<ConnectionReason> = new Set(['no_refresh_token', 'missing_scopes']);

/**
 * Where a user stands, from their record (`undefined`: never seen) and the scopes the
 * deployment requires. Pure: no clock, no I/O. A grant that is gone (revoked, disconnected)
 * holds no scopes, whatever the record remembers: `grantedScopes` is empty then.
 */
export function connectionStatus(
  record: Pick<UserRecord, 'status' | 'refreshToken' | 'grantedScopes' | 'reason' | 'revokedReason'> | undefined,
  requiredScopes: readonly string[],
): ConnectionState {
  const { status, reason } = statusOf(record, requiredScopes);
  const grantedScopes =
    record && (status === 'active' || (reason && GRANT_KEPT.has(reason))) ? record.grantedScopes : [];
  return {
    status,
    ...(reason ? { reason } : {}),
    offlineAccess: status === 'active',
    grantedScopes,
    missingScopes: requiredScopes.filter((scope) => !grantedScopes.includes(scope)),
  };
}

function statusOf(
  record: Pick<UserRecord, 'status' | 'refreshToken' | 'grantedScopes' | 'reason' | 'revokedReason'> | undefined,
  requiredScopes: readonly string[],
): Pick<ConnectionState, 'status' | 'reason'> {
  if (!record) return { status: 'not_connected' };
  switch (record.status) {
    case 'disconnected':
      return { status: 'disconnected', reason: 'user_disconnected' };
    case 'revoked':
      return { status: 'needs_reconnect', reason: revokedReason(record) };
    case 'active':
      if (!record.refreshToken) return { status: 'needs_reconnect', reason: 'no_refresh_token' };
      if (requiredScopes.some((scope) => !record.grantedScopes.includes(scope)))
        return { status: 'needs_reconnect', reason: 'missing_scopes' };
      return { status: 'active' };
    default:
      return { status: 'needs_reconnect', reason: 'no_refresh_token' };
  }
}

/** The stored reason; records revoked before reasons were kept are read from their detail. */
function revokedReason(record: Pick<UserRecord, 'reason' | 'revokedReason'>): ConnectionReason {
  if (isConnectionReason(record.reason)) return record.reason;
  const detail = record.revokedReason;
  if (isConnectionReason(detail)) return detail;
  if (detail?.startsWith('risc:account-disabled')) return 'account_disabled';
  return 'revoked';
}

/** Whether two states differ in what the apps are told (status or reason): an event is due. */
export function statusChanged(
  before: Pick<ConnectionState, 'status' | 'reason'>,
  after: Pick<ConnectionState, 'status' | 'reason'>,
): boolean {
  return before.status !== after.status || before.reason !== after.reason;
}

/** Google's "Testing" publishing status gives 7-day refresh tokens; ±12 h absorbs the refresh cadence. */
export const TESTING_MODE_EXPIRY_WINDOW_MS = { from: (6 * 24 + 12) * 3_600_000, to: (7 * 24 + 12) * 3_600_000 };

/** What Google said when it refused a refresh token, log-safe (no body, no token). */
export interface GrantFailure {
  /** Google's `error` (`invalid_grant`, `admin_policy_enforced`). */
  googleError?: string;
  /** Google's `error_subtype` (`invalid_rapt`, `admin_policy_enforced`). */
  googleErrorSubtype?: string;
}

/**
 * The reason a refresh token Google refused is dead: a Workspace session-control policy
 * (`invalid_rapt`), a Workspace admin's block (`admin_policy_enforced`), the 7-day expiry of
 * an app still in "Testing" (a token 6½ to 7½ days old), else a plain revocation.
 * @param tokenAgeMs how long ago the refused refresh token was stored; unknown → not Testing mode.
 */
export function classifyGrantFailure(failure: GrantFailure, tokenAgeMs: number | undefined): LostGrantReason {
  const codes = [failure.googleError, failure.googleErrorSubtype];
  if (codes.includes('invalid_rapt')) return 'reauth_required';
  if (codes.includes('admin_policy_enforced')) return 'admin_policy';
  const { from, to } = TESTING_MODE_EXPIRY_WINDOW_MS;
  if (tokenAgeMs !== undefined && tokenAgeMs >= from && tokenAgeMs <= to) return 'testing_mode_expiry';
  return 'revoked';
}

/** The warning an operator must see when a Testing-mode expiry is diagnosed: it names the fix. */
export const TESTING_MODE_EXPIRY_ADVICE =
  'Google expired a 7-day refresh token: the OAuth consent screen is still in "Testing". ' +
  'Publish the OAuth consent screen (Google API Console > OAuth consent screen > Publish app, status "In production"); ' +
  'affected users must sign in again.';
