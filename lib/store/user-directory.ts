/**
 * The operators' view of the users (the CLI): every user record, page by page, without the
 * token material. The adapter never even reads the ciphertext or its RISC hashes.
 */
import type { UserRecord } from './users';

/** A user record as operators see it: no ciphertext, no hashes. */
export type UserSummary = Omit<UserRecord, 'refreshToken' | 'tokenHash' | 'tokenPrefixHash'> & {
  /** Whether a refresh token is stored (its ciphertext is never read). */
  hasRefreshToken: boolean;
};

export interface UserDirectoryPage {
  users: UserSummary[];
  /** Items the page read (users and other items of the table), for progress. */
  scanned: number;
  /** Opaque, URL-safe: pass it back for the next page. */
  nextCursor?: string;
}

export interface UserDirectory {
  /** One page of a scan over every user record. */
  scanUsers(input: { cursor?: string; pageSize?: number }): Promise<UserDirectoryPage>;
  /** The cursor that resumes a scan right after this user (a page cut short by the caller). */
  cursorAfter(userId: string): string;
  /** Items in the table, approximately (refreshed by DynamoDB every few hours): a progress total. */
  approximateItemCount(): Promise<number | undefined>;
  /** The cached access token's expiry for a user, if the token function holds one (never the token). */
  cachedAccessTokenExpiry(userId: string): Promise<Date | undefined>;
}
