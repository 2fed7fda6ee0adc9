import { classifyGrantFailure, connectionStatus, TESTING_MODE_EXPIRY_WINDOW_MS } from '../../lib/connection-status';
import { connectionEventOf, type UserChange } from '../../lib/connection-events';
import type { UserRecord } from '../../lib/store/users';

const APPDATA = 'https://www.googleapis.com/auth/drive.appdata';
const HOUR = 3_600_000;

const record = (overrides: Partial<UserRecord> = {}): UserRecord => ({
  userId: 'u1',
  emailVerified: true,
  status: 'active',
  grantedScopes: [APPDATA, 'openid'],
  refreshToken: new Uint8Array([1]),
  tokenVersion: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  refreshFailures: 0,
  ...overrides,
});

describe('connectionStatus', () => {
  it('calls a user never seen not_connected, with every required scope missing', () => {
    expect(connectionStatus(undefined, [APPDATA])).toEqual({
      status: 'not_connected',
      offlineAccess: false,
      grantedScopes: [],
      missingScopes: [APPDATA],
    });
  });

  it('calls a stored token with every required scope active, without a reason', () => {
    expect(connectionStatus(record(), [APPDATA])).toEqual({
      status: 'active',
      offlineAccess: true,
      grantedScopes: [APPDATA, 'openid'],
      missingScopes: [],
    });
  });

  it.each([
    ['no refresh token', record({ status: 'no_refresh_token', refreshToken: undefined }), 'no_refresh_token'],
    ['active without a token', record({ refreshToken: undefined }), 'no_refresh_token'],
    ['a scope unticked', record({ grantedScopes: ['openid'] }), 'missing_scopes'],
    ['revoked with a reason', record({ status: 'revoked', reason: 'admin_policy' }), 'admin_policy'],
    ['revoked before reasons were kept', record({ status: 'revoked' }), 'revoked'],
  ] as const)('needs a reconnect with %s', (_, stored, reason) => {
    expect(connectionStatus(stored, [APPDATA])).toMatchObject({
      status: 'needs_reconnect',
      reason,
      offlineAccess: false,
    });
  });

  it('calls a disconnected user disconnected, reason user_disconnected', () => {
    expect(connectionStatus(record({ status: 'disconnected', refreshToken: undefined }), [APPDATA])).toMatchObject({
      status: 'disconnected',
      reason: 'user_disconnected',
    });
  });
});

describe('classifyGrantFailure', () => {
  const revoked = { googleError: 'invalid_grant' };
  it.each([
    [6 * 24 * HOUR, 'revoked'],
    [TESTING_MODE_EXPIRY_WINDOW_MS.from, 'testing_mode_expiry'],
    [7 * 24 * HOUR + 5 * 60_000, 'testing_mode_expiry'],
    [TESTING_MODE_EXPIRY_WINDOW_MS.to, 'testing_mode_expiry'],
    [TESTING_MODE_EXPIRY_WINDOW_MS.to + 1, 'revoked'],
    [undefined, 'revoked'],
  ])('a token %p ms old refused with invalid_grant is %s', (age, reason) => {
    expect(classifyGrantFailure(revoked, age)).toBe(reason);
  });

  it('names Workspace policies whatever the token’s age', () => {
    const week = 7 * 24 * HOUR;
    expect(classifyGrantFailure({ googleError: 'invalid_grant', googleErrorSubtype: 'invalid_rapt' }, week)).toBe(
      'reauth_required',
    );
    expect(classifyGrantFailure({ googleError: 'admin_policy_enforced' }, week)).toBe('admin_policy');
    expect(classifyGrantFailure({ googleError: 'invalid_grant', googleErrorSubtype: 'admin_policy_enforced' }, 0)).toBe(
      'admin_policy',
    );
  });
});

describe('connectionEventOf', () => {
  const change = (before?: UserRecord, after?: UserRecord): UserChange => ({
    position: '0001',
    userId: 'u1',
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
    approximateAt: '2026-01-01T00:00:09.000Z',
  });

  it('raises nothing when status and reason stay the same', () => {
    expect(connectionEventOf(change(record(), record({ lastRefreshAt: 'x' })), [APPDATA])).toBeUndefined();
  });

  it('derives the same eventId from the same change, and another from any other', () => {
    const lost = record({
      status: 'revoked',
      reason: 'revoked',
      refreshToken: undefined,
      tokenVersion: 2,
      updatedAt: '2026-01-01T00:00:05.000Z',
    });
    const event = connectionEventOf(change(record(), lost), [APPDATA]);
    expect(event).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: 'u1',
      status: 'needs_reconnect',
      previousStatus: 'active',
      reason: 'revoked',
      at: '2026-01-01T00:00:05.000Z',
    });
    expect(connectionEventOf(change(record(), lost), [APPDATA])?.eventId).toBe(event?.eventId);
    const later = { ...lost, updatedAt: '2026-01-01T00:00:06.000Z' };
    expect(connectionEventOf(change(record(), later), [APPDATA])?.eventId).not.toBe(event?.eventId);
  });

  it('reports a first write from not_connected and a deleted record as not_connected', () => {
    expect(connectionEventOf(change(undefined, record()), [APPDATA])).toMatchObject({
      previousStatus: 'not_connected',
      status: 'active',
    });
    expect(connectionEventOf(change(record(), undefined), [APPDATA])).toMatchObject({
      previousStatus: 'active',
      status: 'not_connected',
      at: '2026-01-01T00:00:09.000Z',
    });
  });
});
