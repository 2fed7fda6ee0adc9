import { connectionState } from '../../lib/connection';
import type { UserRecord } from '../../lib/store/users';

const REQUIRED = ['https://www.googleapis.com/auth/drive.appdata'];

const record = (overrides: Partial<UserRecord>): UserRecord => ({
  userId: 'u1',
  emailVerified: true,
  status: 'active',
  grantedScopes: [...REQUIRED, 'openid'],
  refreshToken: new Uint8Array([1]),
  tokenVersion: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  refreshFailures: 0,
  ...overrides,
});

describe('connectionState', () => {
  it.each<[string, UserRecord | undefined, ReturnType<typeof connectionState>]>([
    ['a user never seen', undefined, { status: 'not_connected' }],
    ['an active record with every scope', record({}), { status: 'active' }],
    [
      'an active record missing a required scope',
      record({ grantedScopes: ['openid'] }),
      { status: 'needs_reconnect', reason: 'missing_scopes' },
    ],
    [
      'a record without a refresh token',
      record({ status: 'no_refresh_token', refreshToken: undefined }),
      { status: 'needs_reconnect', reason: 'no_refresh_token' },
    ],
    [
      'an active record whose token is gone',
      record({ refreshToken: undefined }),
      { status: 'needs_reconnect', reason: 'no_refresh_token' },
    ],
    [
      'a revoked record with a contract reason',
      record({ status: 'revoked', revokedReason: 'testing_mode_expiry' }),
      { status: 'needs_reconnect', reason: 'testing_mode_expiry' },
    ],
    [
      'a revoked record with a RISC account-disabled reason',
      record({ status: 'revoked', revokedReason: 'risc:account-disabled:hijacking' }),
      { status: 'needs_reconnect', reason: 'account_disabled' },
    ],
    [
      'a revoked record with any other reason',
      record({ status: 'revoked', revokedReason: 'Token has been expired or revoked.' }),
      { status: 'needs_reconnect', reason: 'revoked' },
    ],
    [
      'a disconnected record',
      record({ status: 'disconnected', refreshToken: undefined }),
      { status: 'disconnected', reason: 'user_disconnected' },
    ],
  ])('maps %s', (_name, input, expected) => {
    expect(connectionState(input, REQUIRED)).toEqual(expected);
  });
});
