/**
 * Connection status for the apps (`GET /connection`): what the server holds for the signed-in
 * user, in the contract's terms (`status`, `reason`), so an app knows when to ask the user
 * to sign in again. Read-only, and never returns a token.
 */
import type { IdTokenVerifier } from './google/token-verifier';
import type { JobResult, UserRecord, UserStore } from './store/users';

export type ConnectionStatus = 'active' | 'needs_reconnect' | 'disconnected' | 'not_connected';

/** The contract's closed list of reasons (DESIGN.md, "Connection status, reasons and events"). */
export const CONNECTION_REASONS = [
  'no_refresh_token',
  'missing_scopes',
  'revoked',
  'testing_mode_expiry',
  'reauth_required',
  'admin_policy',
  'account_disabled',
  'user_disconnected',
] as const;
export type ConnectionReason = (typeof CONNECTION_REASONS)[number];

export interface ConnectionState {
  status: ConnectionStatus;
  reason?: ConnectionReason;
}

export interface ConnectionResponse extends ConnectionState {
  userId: string;
  offlineAccess: boolean;
  grantedScopes: string[];
  missingScopes: string[];
  lastRefreshAt: string | null;
  jobs: Record<string, JobResult>;
}

const isConnectionReason = (value: unknown): value is ConnectionReason =>
  (CONNECTION_REASONS as readonly string[]).includes(value as string);

/**
 * The one mapping from a stored record to the contract's status and reason. A record never
 * seen is `not_connected`; a `revoked` record keeps its stored reason when that is one of the
 * contract's (RISC `account-disabled` is stored as `risc:account-disabled:<reason>`), else `revoked`.
 */
export function connectionState(record: UserRecord | undefined, requiredScopes: readonly string[]): ConnectionState {
  if (!record) return { status: 'not_connected' };
  switch (record.status) {
    case 'disconnected':
      return { status: 'disconnected', reason: 'user_disconnected' };
    case 'revoked': {
      const stored = record.revokedReason;
      if (isConnectionReason(stored)) return { status: 'needs_reconnect', reason: stored };
      if (stored?.startsWith('risc:account-disabled')) return { status: 'needs_reconnect', reason: 'account_disabled' };
      return { status: 'needs_reconnect', reason: 'revoked' };
    }
    case 'no_refresh_token':
      return { status: 'needs_reconnect', reason: 'no_refresh_token' };
    case 'active':
      if (!record.refreshToken) return { status: 'needs_reconnect', reason: 'no_refresh_token' };
      if (missingScopes(record.grantedScopes, requiredScopes).length) {
        return { status: 'needs_reconnect', reason: 'missing_scopes' };
      }
      return { status: 'active' };
  }
}

const missingScopes = (granted: readonly string[], required: readonly string[]): string[] =>
  required.filter((scope) => !granted.includes(scope));

export interface ConnectionDependencies {
  users: Pick<UserStore, 'getUser'>;
  idTokens: Pick<IdTokenVerifier, 'verify'>;
  requiredScopes: readonly string[];
}

export class ConnectionStatusQuery {
  constructor(private readonly deps: ConnectionDependencies) {}

  /**
   * The connection of the user the ID token names; 200 also for a user never seen.
   * @throws InvalidIdTokenError (401); UpstreamUnavailableError (503) when Google's keys or
   * DynamoDB are unavailable.
   */
  async connection(idToken: string): Promise<ConnectionResponse> {
    const { sub: userId } = await this.deps.idTokens.verify(idToken);
    const record = await this.deps.users.getUser(userId);
    const state = connectionState(record, this.deps.requiredScopes);
    // A grant that is gone (or never was) holds no scopes, whatever the record remembers.
    const holdsGrant = state.status === 'active' || (state.reason !== undefined && GRANT_KEPT.has(state.reason));
    const grantedScopes = holdsGrant && record ? record.grantedScopes : [];
    return {
      userId,
      status: state.status,
      offlineAccess: state.status === 'active',
      ...(state.reason ? { reason: state.reason } : {}),
      grantedScopes,
      missingScopes: missingScopes(grantedScopes, this.deps.requiredScopes),
      lastRefreshAt: record?.lastRefreshAt ?? null,
      jobs: record?.jobs ?? {},
    };
  }
}

/** Reasons under which Google still holds the user's (partial) grant. */
const GRANT_KEPT = new Set<ConnectionReason>(['no_refresh_token', 'missing_scopes']);
