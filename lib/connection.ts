/**
 * Connection status for the apps (`GET /connection`): what the server holds for the signed-in
 * user, in the contract's terms (`status`, `reason`), so an app knows when to ask the user
 * to sign in again. Read-only, and never returns a token.
 */
import type { IdTokenVerifier } from './google/token-verifier';
import { connectionStatus, type ConnectionReason, type ConnectionStatus } from './connection-status';
import type { JobResult, UserRecord, UserStore } from './store/users';

export type { ConnectionReason, ConnectionStatus } from './connection-status';
export { CONNECTION_REASONS } from './connection-status';

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

/** Status and reason of a stored record: `connectionStatus` (lib/connection-status.ts), the one mapping. */
export function connectionState(record: UserRecord | undefined, requiredScopes: readonly string[]): ConnectionState {
  const { status, reason } = connectionStatus(record, requiredScopes);
  return reason ? { status, reason } : { status };
}

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
    const state = connectionStatus(record, this.deps.requiredScopes);
    return {
      userId,
      status: state.status,
      offlineAccess: state.offlineAccess,
      ...(state.reason ? { reason: state.reason } : {}),
      grantedScopes: state.grantedScopes,
      missingScopes: state.missingScopes,
      lastRefreshAt: record?.lastRefreshAt ?? null,
      jobs: record?.jobs ?? {},
    };
  }
}
