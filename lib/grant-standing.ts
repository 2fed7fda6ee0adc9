/**
 * Where a user's connection stands, in the contract's terms (DESIGN.md, "Connection status,
 * reasons and events"), derived from the stored record. Deliberately one small function,
 * used by the token function and the operator CLI, to be replaced by the connection-status
 * model (lib/connection-status.ts) once it exists.
 */
import { isConnectionReason } from './connection-status';
import type { UserRecord } from './store/users';

/** What the standing depends on: a user record, or an operator's summary of one (no ciphertext). */
export type StandingInput = Pick<UserRecord, 'status' | 'revokedReason' | 'refreshToken' | 'reason'> & {
  hasRefreshToken?: boolean;
};

export type ConnectionStatus = 'active' | 'needs_reconnect' | 'disconnected' | 'not_connected';

export interface Standing {
  status: ConnectionStatus;
  /** Why, when not `active`. */
  reason?: string;
}

export function standingOf(record: StandingInput | undefined): Standing {
  if (!record) return { status: 'not_connected' };
  switch (record.status) {
    case 'active':
      return record.refreshToken || record.hasRefreshToken
        ? { status: 'active' }
        : { status: 'needs_reconnect', reason: 'no_refresh_token' };
    case 'no_refresh_token':
      return { status: 'needs_reconnect', reason: 'no_refresh_token' };
    case 'disconnected':
      return { status: 'disconnected', reason: 'user_disconnected' };
    case 'revoked':
      return {
        status: 'needs_reconnect',
        reason: isConnectionReason(record.reason) ? record.reason : revokedReason(record.revokedReason),
      };
  }
}

/** The contract's reason for what the worker, the token function or RISC wrote as `revokedReason`. */
export function revokedReason(stored: string | undefined): string {
  // The refresh path hands over the contract's reason itself (testing_mode_expiry, ...).
  if (isConnectionReason(stored)) return stored;
  if (stored?.startsWith('risc:account-disabled')) return 'account_disabled';
  return 'revoked';
}
