/**
 * The access-token cache port: per user, the latest access token the token function got
 * (envelope ciphertext only, under its own purpose) and the refresh lock that keeps
 * concurrent callers, in any execution environment, to one refresh at Google.
 *
 * It is an item of its own (`ACCESS#<user>` in the token table), not attributes of the
 * user record: lock and cache writes then cost one write unit on a ~300-byte item instead
 * of two or more on the user record (profile, jobs), and never contend with the worker's
 * lease writes on that record.
 */

export interface CachedAccessToken {
  /** Envelope ciphertext (purpose `google-access-token`, bound to the user). */
  ciphertext: Uint8Array;
  /** Epoch ms the access token expires. */
  expiresAtMs: number;
  /** Scopes the token carries. */
  scopes: string[];
  /** The user record's `tokenVersion` when the token was obtained: a later sign-in or revocation voids it. */
  tokenVersion: number;
}

export interface AccessTokenCacheEntry {
  token?: CachedAccessToken;
  lockOwner?: string;
  lockExpiresAtMs?: number;
}

export interface AccessTokenCache {
  /** The user's entry (strongly consistent), if any. */
  get(userId: string): Promise<AccessTokenCacheEntry | undefined>;

  /**
   * Takes the user's refresh lock for `lockMs`: a conditional write that succeeds only when
   * no one holds an unexpired lock. Returns the entry as it now stands (a token another
   * caller stored just before is in it), or `undefined` when someone else holds the lock.
   */
  acquireRefreshLock(
    userId: string,
    owner: string,
    lockMs: number,
    nowMs: number,
  ): Promise<AccessTokenCacheEntry | undefined>;

  /** Stores a fresh token and releases the lock, in one write, if `owner` still holds it. */
  storeAndRelease(userId: string, owner: string, token: CachedAccessToken): Promise<boolean>;

  /** Releases the lock if `owner` still holds it. */
  releaseLock(userId: string, owner: string): Promise<void>;
}
