/**
 * GrantRefresher, the one path from a stored grant to an access token, over in-memory ports:
 * the table and Google are played by small fakes so that a failed write or a dead grant can be
 * injected exactly where it matters. (Over the real emulators: test/integration/token.test.ts.)
 */
import { GrantRefresher } from '../../lib/access-tokens';
import { CiphertextError } from '../../lib/crypto/envelope';
import { InvalidGrantError } from '../../lib/errors';
import type { GoogleTokens } from '../../lib/google/gateway';
import type { Revocation, StoredRefreshToken, UserRecord } from '../../lib/store/users';

/** Ciphertext is the plaintext reversed: enough to tell tokens apart, never equal to them. */
const cipher = {
  encrypt: (plaintext: string) => Promise.resolve(Buffer.from([...plaintext].reverse().join(''))),
  decrypt: (blob: Uint8Array) => {
    const text = Buffer.from(blob).toString();
    if (text.startsWith('!')) return Promise.reject(new CiphertextError('not ours'));
    return Promise.resolve([...text].reverse().join(''));
  },
};

/** One user's record in a table whose writes can be made to fail. */
class FakeTable {
  record: UserRecord;
  failWrites = 0;
  constructor(refreshToken: string) {
    this.record = {
      userId: 'u1',
      emailVerified: true,
      status: 'active',
      grantedScopes: ['drive.appdata'],
      refreshToken: Buffer.from([...refreshToken].reverse().join('')),
      tokenVersion: 1,
      createdAt: '',
      updatedAt: '',
      refreshFailures: 0,
    };
  }

  replaceRefreshToken = (_: string, expectedVersion: number, token: StoredRefreshToken): Promise<boolean> => {
    if (this.failWrites-- > 0) return Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    if (this.record.tokenVersion !== expectedVersion || this.record.status !== 'active') return Promise.resolve(false);
    this.record = { ...this.record, refreshToken: token.ciphertext, tokenVersion: expectedVersion + 1 };
    return Promise.resolve(true);
  };

  markRevoked = (_: string, revocation: Revocation, __: Date, expectedVersion?: number): Promise<boolean> => {
    if (this.failWrites-- > 0) return Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    if (expectedVersion !== undefined && this.record.tokenVersion !== expectedVersion) return Promise.resolve(false);
    const { refreshToken: _token, ...rest } = this.record;
    this.record = {
      ...rest,
      status: 'revoked',
      reason: revocation.reason,
      revokedReason: revocation.detail,
      tokenVersion: this.record.tokenVersion + 1,
    };
    return Promise.resolve(true);
  };

  /** A sign-in stores a new token. */
  signIn(refreshToken: string): void {
    this.record = {
      ...this.record,
      status: 'active',
      refreshToken: Buffer.from([...refreshToken].reverse().join('')),
      tokenVersion: this.record.tokenVersion + 1,
    };
  }

  async storedToken(): Promise<string | undefined> {
    return this.record.refreshToken ? cipher.decrypt(this.record.refreshToken) : undefined;
  }
}

/** Google: one live refresh token per user; it may rotate it (retiring the old one). */
class FakeGoogle {
  live: string;
  rotateNext = false;
  grants: string[] = [];
  private counter = 0;
  constructor(refreshToken: string) {
    this.live = refreshToken;
  }

  refreshAccessToken = (refreshToken: string): Promise<GoogleTokens> => {
    this.grants.push(refreshToken);
    if (refreshToken !== this.live) return Promise.reject(new InvalidGrantError('Token has been expired or revoked.'));
    this.counter += 1;
    const tokens: GoogleTokens = { accessToken: `access-${this.counter}`, scopes: ['drive.appdata'] };
    if (this.rotateNext) {
      this.rotateNext = false;
      this.live = `refresh-rotated-${this.counter}`;
      tokens.refreshToken = this.live;
    }
    return Promise.resolve(tokens);
  };
}

function setUp() {
  const table = new FakeTable('refresh-1');
  const google = new FakeGoogle('refresh-1');
  const grants = new GrantRefresher({ store: table, cipher, oauth: google });
  return { table, google, grants };
}

describe('GrantRefresher', () => {
  it('stores a refresh token Google rotated and uses it next', async () => {
    const { table, google, grants } = setUp();
    google.rotateNext = true;
    expect(await grants.refresh(table.record)).toMatchObject({ status: 'refreshed', tokenVersion: 2 });
    expect(await table.storedToken()).toBe(google.live);
    expect(await grants.refresh(table.record)).toMatchObject({ status: 'refreshed', rotationPending: false });
    expect(google.grants).toEqual(['refresh-1', google.live]);
  });

  it('keeps a rotated token whose store failed, answers the access token, and stores and uses it next time', async () => {
    const { table, google, grants } = setUp();
    google.rotateNext = true;
    table.failWrites = 1;
    const first = await grants.refresh(table.record);
    expect(first).toMatchObject({ status: 'refreshed', rotationPending: true, tokenVersion: 1 });
    expect(await table.storedToken()).toBe('refresh-1');
    expect(grants.hasPendingRotation('u1')).toBe(true);

    // The table still holds the retired token; the next refresh stores and uses the kept one.
    const second = await grants.refresh(table.record);
    expect(second).toMatchObject({ status: 'refreshed', rotationPending: false, tokenVersion: 2 });
    expect(await table.storedToken()).toBe(google.live);
    expect(google.grants).toEqual(['refresh-1', google.live]);
    expect(grants.hasPendingRotation('u1')).toBe(false);
  });

  it('uses the kept token even while the table still refuses it, and keeps it until a store succeeds', async () => {
    const { table, google, grants } = setUp();
    google.rotateNext = true;
    table.failWrites = 2;
    await grants.refresh(table.record);
    expect(await grants.refresh(table.record)).toMatchObject({ status: 'refreshed', rotationPending: true });
    expect(google.grants).toEqual(['refresh-1', google.live]);
    expect(grants.hasPendingRotation('u1')).toBe(true);
    await grants.refresh(table.record);
    expect(await table.storedToken()).toBe(google.live);
  });

  it('drops a kept token once a sign-in replaced the record: the newer token wins', async () => {
    const { table, google, grants } = setUp();
    google.rotateNext = true;
    table.failWrites = 1;
    await grants.refresh(table.record);
    table.signIn('refresh-from-sign-in');
    google.live = 'refresh-from-sign-in';
    expect(await grants.refresh(table.record)).toMatchObject({ status: 'refreshed' });
    expect(await table.storedToken()).toBe('refresh-from-sign-in');
    expect(grants.hasPendingRotation('u1')).toBe(false);
  });

  it('marks the user revoked on invalid_grant, only while the dead token is the stored one', async () => {
    const { table, google, grants } = setUp();
    google.live = 'something-else';
    const stale = table.record;
    table.signIn('something-else');
    expect(await grants.refresh(stale)).toEqual({ status: 'token_replaced' });
    expect(table.record.status).toBe('active');

    google.live = 'nothing';
    expect(await grants.refresh(table.record)).toEqual({ status: 'revoked', reason: 'revoked' });
    expect(table.record).toMatchObject({ status: 'revoked' });
  });

  it('marks an undecryptable ciphertext revoked, and reports a failed mark instead of throwing', async () => {
    const { table, grants } = setUp();
    table.record = { ...table.record, refreshToken: Buffer.from('!garbage') };
    table.failWrites = 1;
    expect(await grants.refresh(table.record)).toMatchObject({ status: 'mark_failed', reason: 'revoked' });
    expect(await grants.refresh(table.record)).toEqual({ status: 'revoked', reason: 'revoked' });
    expect(table.record).toMatchObject({ revokedReason: 'undecryptable_token' });
  });
});
