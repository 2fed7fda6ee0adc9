/**
 * The user store port: the one record a signed-in user has (profile, granted scopes, the
 * envelope-encrypted refresh token, refresh state). Every state change that can race is a
 * single conditional write in the adapter, so concurrent sign-ins, refreshes, disconnects
 * and security events always leave one consistent record. The store only ever sees
 * ciphertext: encryption happens before it is called.
 */

/** Why a user is not `active`: the contract's closed list. */
export type ConnectionReason =
  | 'no_refresh_token'
  | 'missing_scopes'
  | 'revoked'
  | 'testing_mode_expiry'
  | 'reauth_required'
  | 'admin_policy'
  | 'account_disabled'
  | 'user_disconnected';

/** The reasons a grant that worked can die with; the store keeps one on the record. */
export type LostGrantReason = Extract<
  ConnectionReason,
  'revoked' | 'testing_mode_expiry' | 'reauth_required' | 'admin_policy' | 'account_disabled'
>;

/** Where a user's grant stands in the table (`connectionStatus` turns it into what the apps see). */
export type GrantStatus = 'active' | 'no_refresh_token' | 'revoked' | 'disconnected';

/** Why a grant ended, as `markRevoked` stores it. */
export interface Revocation {
  /** The contract's reason (`testing_mode_expiry`, `account_disabled`, ...). */
  reason: LostGrantReason;
  /** Operator detail, log-safe (e.g. `invalid_grant: Token has been expired or revoked.`, `risc:account-disabled:hijacking`). */
  detail: string;
}

export interface UserProfile {
  userId: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  givenName?: string;
  familyName?: string;
  picture?: string;
  locale?: string;
}

/** What a sign-in stores next to the profile when Google handed out a refresh token. */
export interface StoredRefreshToken {
  ciphertext: Uint8Array;
  tokenHash: string;
  tokenPrefixHash: string;
}

export interface JobResult {
  status: 'ok' | 'skipped' | 'failed';
  at: string;
  detail?: Record<string, unknown>;
  reason?: string;
}

export interface UserRecord extends UserProfile {
  status: GrantStatus;
  grantedScopes: string[];
  refreshToken?: Uint8Array;
  /** Bumped on every change of the stored refresh token; guards conditional writes. */
  tokenVersion: number;
  tokenHash?: string;
  tokenPrefixHash?: string;
  createdAt: string;
  updatedAt: string;
  lastSignInAt?: string;
  tokenStoredAt?: string;
  lastRefreshAt?: string;
  refreshFailures: number;
  lastRefreshError?: string;
  jobs?: Record<string, JobResult>;
  /** Why the grant ended (revoked or disconnected); removed when a sign-in stores a new token. */
  reason?: ConnectionReason;
  revokedAt?: string;
  /** Operator detail of a revocation (`Revocation.detail`). */
  revokedReason?: string;
  disconnectedAt?: string;
  leaseOwner?: string;
  leaseExpiresAt?: number;
}

/** What one refresh of a user ended with. */
export interface RefreshOutcome {
  at: Date;
  jobs: Record<string, JobResult>;
  error?: string;
  succeeded: boolean;
}

/** Where a scan of active users stands: opaque to callers, JSON-safe (it travels on the queue). */
export type ScanCursor = Record<string, unknown>;

export interface ActiveUsersPage {
  userIds: string[];
  nextCursor?: ScanCursor;
}

export interface UserStore {
  getUser(userId: string, consistent?: boolean): Promise<UserRecord | undefined>;

  /**
   * Several users in as few requests as possible, eventually consistent (half the read
   * cost): every write that acts on what was read is conditional on `tokenVersion`, so a
   * stale copy can cost a retry, never a lost token. Missing users are left out.
   */
  getUsers(userIds: readonly string[]): Promise<UserRecord[]>;

  /**
   * Records a sign-in in one atomic write: profile and scopes always; the refresh token,
   * its RISC hashes and `active` state only when Google issued one. Without a new token
   * the stored ciphertext is left byte-identical.
   */
  saveSignIn(input: {
    profile: UserProfile;
    grantedScopes: string[];
    refreshToken?: StoredRefreshToken;
    now: Date;
  }): Promise<UserRecord>;

  /**
   * Claims the user's refresh lease. Returns the record when claimed; `undefined` when the
   * user is gone, no longer active, or another run holds an unexpired lease.
   */
  claimLease(userId: string, owner: string, leaseMs: number, nowMs: number): Promise<UserRecord | undefined>;

  /** Releases the lease if this run still holds it, so the next cycle can process the user. */
  releaseLease(userId: string, owner: string): Promise<void>;

  /** Replaces the stored refresh token (Google rotated it), unless the record changed meanwhile. */
  replaceRefreshToken(userId: string, expectedVersion: number, token: StoredRefreshToken, now: Date): Promise<boolean>;

  /**
   * Records the outcome and releases this run's lease in one write. When the lease is no
   * longer ours (it expired and another run took it), records the outcome without touching
   * that run's lease.
   */
  finishRefresh(userId: string, owner: string, outcome: RefreshOutcome): Promise<void>;

  /**
   * Records an outcome without any lease (a run that holds the user's message claim
   * instead). Does nothing when the user's record is gone.
   */
  recordRefresh(userId: string, outcome: RefreshOutcome): Promise<void>;

  /**
   * Marks the user's grant revoked (`invalid_grant`, RISC) with its reason: destroys the
   * ciphertext and its hashes and drops the user from the dispatcher's index. With
   * `expectedVersion`, only if the token is still the one that was found dead (a newer sign-in wins).
   */
  markRevoked(userId: string, revocation: Revocation, now: Date, expectedVersion?: number): Promise<boolean>;

  /**
   * The user took access back: ciphertext destroyed, user marked disconnected (reason
   * `user_disconnected`), and the profile, scopes and job results erased (only what status
   * reporting needs is kept). Idempotent.
   * With `expectedVersion`, only if the stored token is still the one the caller revoked.
   */
  markDisconnected(userId: string, now: Date, expectedVersion?: number): Promise<boolean>;

  /** Users whose stored refresh token has this RISC hash (eventually consistent). */
  findUsersByTokenHash(tokenHash: string): Promise<string[]>;
  findUsersByTokenPrefixHash(tokenPrefixHash: string): Promise<string[]>;

  /**
   * One page of one parallel-scan segment of the active users (keys only). The dispatcher
   * walks pages and checkpoints `nextCursor` so no invocation grows with the table.
   */
  scanActiveUsers(input: {
    segment: number;
    totalSegments: number;
    cursor?: ScanCursor;
    limit?: number;
  }): Promise<ActiveUsersPage>;
}
