/**
 * What travels on the refresh queue (`REFRESH_QUEUE_URL`). One queue, three kinds:
 * - `refresh`: a batch of users to refresh in this cycle;
 * - `scan`: a checkpointed parallel-scan segment the dispatcher could not finish in time;
 * - `revoke`: a Google revocation that failed at disconnect and must be retried. It carries
 *   the envelope ciphertext (never plaintext): the table copy is already destroyed.
 */
import type { ScanCursor } from '../store/users';

export interface RefreshUsersMessage {
  kind: 'refresh';
  /** ISO time the cycle was dispatched; a user refreshed since then is not refreshed again. */
  cycle: string;
  users: string[];
  /**
   * The message's id within its cycle (a hash of its users), set by the dispatcher: the
   * worker claims the message as a whole under it. Absent (a message from elsewhere, such as
   * an on-demand refresh): each user is leased one by one.
   */
  batch?: string;
}

export interface ScanSegmentMessage {
  kind: 'scan';
  cycle: string;
  segment: number;
  totalSegments: number;
  /** Where the segment's scan resumes (the store's opaque cursor). */
  startKey?: ScanCursor;
}

export interface RevokeTokenMessage {
  kind: 'revoke';
  userId: string;
  /** Base64 envelope ciphertext of the refresh token (see lib/crypto/envelope.ts). */
  ciphertext: string;
  attempt: number;
}

export type RefreshQueueMessage = RefreshUsersMessage | ScanSegmentMessage | RevokeTokenMessage;

/** @throws Error when the body is not one of the kinds above. */
export function parseQueueMessage(body: string): RefreshQueueMessage {
  const parsed = JSON.parse(body) as Partial<RefreshQueueMessage> | null;
  if (parsed && typeof parsed === 'object') {
    if (parsed.kind === 'refresh' && Array.isArray(parsed.users) && typeof parsed.cycle === 'string') {
      return parsed as RefreshUsersMessage;
    }
    if (parsed.kind === 'scan' && typeof parsed.segment === 'number' && typeof parsed.totalSegments === 'number') {
      return parsed as ScanSegmentMessage;
    }
    if (parsed.kind === 'revoke' && typeof parsed.userId === 'string' && typeof parsed.ciphertext === 'string') {
      return parsed as RevokeTokenMessage;
    }
  }
  throw new Error('Unrecognised refresh queue message');
}
