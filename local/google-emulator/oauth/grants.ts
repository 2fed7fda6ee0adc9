/**
 * OAuth state: authorization codes, grants (one per user and client) and the tokens
 * issued under them. Mirrors Google's rules: a refresh token only when the consent
 * screen was shown; revoking any token of a grant revokes the whole grant.
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorClock } from '../clock';
import type { IssuedSecrets } from '../issued-secrets';
import type { IdTokenOverride } from './id-token-overrides';
import type { UserProfile } from './users';

const CODE_LIFETIME_MS = 10 * 60_000;
export const ACCESS_TOKEN_LIFETIME_S = 3599;
/** Refresh tokens of a client whose consent screen is in "Testing" die this long after issue. */
export const TESTING_REFRESH_TOKEN_LIFETIME_MS = 7 * 24 * 3_600_000;

/**
 * Why Google refuses a refresh token, each with its own answer (see `refreshFailureBody`):
 * `revoked` (or expired), `invalid_rapt` (a Workspace session-control policy wants the user to
 * re-authenticate), `admin_policy_enforced` (a Workspace admin blocked the app or a scope).
 */
export type RefreshFailureCause = 'revoked' | 'invalid_rapt' | 'admin_policy_enforced';
export const REFRESH_FAILURE_CAUSES: readonly RefreshFailureCause[] = [
  'revoked',
  'invalid_rapt',
  'admin_policy_enforced',
];

export interface AuthorizationCode {
  clientId: string;
  sub: string;
  redirectUri: string;
  /** What the user granted on this consent (may be fewer than requested). */
  scopes: string[];
  azp: string;
  /** The consent screen was shown, so redeeming this code yields a refresh token. */
  consentShown: boolean;
  /** Test hook: how the ID token from this code's exchange deviates from Google's. */
  idTokenOverride?: IdTokenOverride;
  issuedAtMs: number;
  redeemed: boolean;
}

export interface Grant {
  clientId: string;
  sub: string;
  profile: UserProfile;
  /** Every scope the user has granted this client so far. */
  scopes: string[];
  refreshTokens: Set<string>;
  rotateOnNextRefresh: boolean;
  /** Set by a test: every refresh grant of this grant fails so, until the user consents again. */
  refreshFailure?: RefreshFailureCause;
}

export interface AccessToken {
  clientId: string;
  /** The user's `sub`, or the service account's email. */
  owner: string;
  kind: 'user' | 'serviceAccount';
  scopes: string[];
  expiresAtMs: number;
}

export interface AuthorizeInput {
  clientId: string;
  profile: UserProfile;
  scopes: string[];
  azp: string;
  redirectUri: string;
  forceConsent: boolean;
  idTokenOverride?: IdTokenOverride;
}

const randomToken = (bytes: number): string => randomBytes(bytes).toString('base64url');
/** Google's shapes: `4/0…` codes, `ya29.…` access tokens, `1//0…` refresh tokens. */
export const CODE_PATTERN = /^4\/[\w-]+$/;
const grantKey = (clientId: string, sub: string): string => `${clientId}\n${sub}`;

export class GrantStore {
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly grants = new Map<string, Grant>();
  private readonly grantsByRefreshToken = new Map<string, Grant>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly newestAccessToken = new Map<string, string>();
  private readonly refreshTokenIssuedAtMs = new Map<string, number>();
  private readonly refreshTokenFailures = new Map<string, RefreshFailureCause>();

  constructor(
    private readonly clock: EmulatorClock,
    private readonly issued: IssuedSecrets,
  ) {}

  /** The user consents (or silently signs in again): records the grant and returns a code. */
  authorize(input: AuthorizeInput): string {
    const key = grantKey(input.clientId, input.profile.sub);
    const existing = this.grants.get(key);
    const consentShown =
      input.forceConsent || !existing || input.scopes.some((scope) => !existing.scopes.includes(scope));
    const grant: Grant = existing ?? {
      clientId: input.clientId,
      sub: input.profile.sub,
      profile: input.profile,
      scopes: [],
      refreshTokens: new Set(),
      rotateOnNextRefresh: false,
    };
    grant.profile = input.profile;
    grant.scopes = [...new Set([...grant.scopes, ...input.scopes])];
    // Consenting again is how a user gets past reauth or an admin's (lifted) block.
    if (consentShown) delete grant.refreshFailure;
    this.grants.set(key, grant);

    const code = this.issued.add(`4/0${randomToken(54)}`);
    this.codes.set(code, {
      clientId: input.clientId,
      sub: input.profile.sub,
      redirectUri: input.redirectUri,
      scopes: input.scopes,
      azp: input.azp,
      consentShown,
      idTokenOverride: input.idTokenOverride,
      issuedAtMs: this.clock.nowMs(),
      redeemed: false,
    });
    return code;
  }

  findCode(code: string): AuthorizationCode | undefined {
    return this.codes.get(code);
  }

  isCodeExpired(record: AuthorizationCode): boolean {
    return this.clock.nowMs() >= record.issuedAtMs + CODE_LIFETIME_MS;
  }

  /** Marks the code used; undefined when its grant was revoked since it was issued. */
  redeemCode(record: AuthorizationCode): Grant | undefined {
    record.redeemed = true;
    return this.grants.get(grantKey(record.clientId, record.sub));
  }

  findGrant(clientId: string, sub: string): Grant | undefined {
    return this.grants.get(grantKey(clientId, sub));
  }

  findGrantByRefreshToken(refreshToken: string): Grant | undefined {
    return this.grantsByRefreshToken.get(refreshToken);
  }

  issueRefreshToken(grant: Grant): string {
    const token = this.issued.add(`1//0${randomToken(72)}`);
    grant.refreshTokens.add(token);
    this.grantsByRefreshToken.set(token, grant);
    this.refreshTokenIssuedAtMs.set(token, this.clock.nowMs());
    return token;
  }

  /** How long ago (emulator clock) the refresh token was issued. */
  refreshTokenAgeMs(token: string): number | undefined {
    const issuedAt = this.refreshTokenIssuedAtMs.get(token);
    return issuedAt === undefined ? undefined : this.clock.nowMs() - issuedAt;
  }

  /** From now on the user's grant(s) answer refresh grants with `cause`; returns how many grants. */
  failRefreshes(sub: string, cause: RefreshFailureCause, clientId?: string): number {
    checkCause(cause);
    const grants = this.grantsOf(sub, clientId);
    grants.forEach((grant) => (grant.refreshFailure = cause));
    return grants.length;
  }

  /** From now on this one refresh token is answered with `cause`; false when it is unknown. */
  failRefreshToken(token: string, cause: RefreshFailureCause): boolean {
    checkCause(cause);
    if (!this.grantsByRefreshToken.has(token)) return false;
    this.refreshTokenFailures.set(token, cause);
    return true;
  }

  /** The failure armed for this refresh token or its grant, if any. */
  refreshFailureOf(grant: Grant, token: string): RefreshFailureCause | undefined {
    return this.refreshTokenFailures.get(token) ?? grant.refreshFailure;
  }

  /** Honors a pending rotation request: the old refresh token dies, a new one is returned. */
  rotateIfRequested(grant: Grant, usedToken: string): string | undefined {
    if (!grant.rotateOnNextRefresh) return undefined;
    grant.rotateOnNextRefresh = false;
    grant.refreshTokens.delete(usedToken);
    this.grantsByRefreshToken.delete(usedToken);
    this.refreshTokenIssuedAtMs.delete(usedToken);
    return this.issueRefreshToken(grant);
  }

  issueAccessToken(holder: Omit<AccessToken, 'expiresAtMs'>): string {
    const token = this.issued.add(`ya29.a0${randomToken(96)}`);
    this.accessTokens.set(token, { ...holder, expiresAtMs: this.clock.nowMs() + ACCESS_TOKEN_LIFETIME_S * 1000 });
    this.newestAccessToken.set(holder.owner, token);
    return token;
  }

  /** A live (known, unexpired, unrevoked) access token. */
  findAccessToken(token: string): AccessToken | undefined {
    const record = this.accessTokens.get(token);
    return record && record.expiresAtMs > this.clock.nowMs() ? record : undefined;
  }

  /** The owner of a live access token or active refresh token, without validating anything else. */
  ownerOf(token: string): { sub?: string; clientId: string } | undefined {
    const access = this.findAccessToken(token);
    if (access) return { sub: access.kind === 'user' ? access.owner : undefined, clientId: access.clientId };
    const grant = this.grantsByRefreshToken.get(token);
    return grant && { sub: grant.sub, clientId: grant.clientId };
  }

  /** True when `token` is the newest access token issued to its owner and still live. */
  isNewestAccessToken(token: string): boolean {
    const record = this.findAccessToken(token);
    return record !== undefined && this.newestAccessToken.get(record.owner) === token;
  }

  /** `/revoke` semantics: any live token of a grant revokes the whole grant. */
  revokeToken(token: string): boolean {
    const access = this.findAccessToken(token);
    if (access?.kind === 'serviceAccount') return this.accessTokens.delete(token);
    const grant = access ? this.findGrant(access.clientId, access.owner) : this.grantsByRefreshToken.get(token);
    if (!grant) return false;
    this.revokeGrant(grant);
    return true;
  }

  /** Revokes the user's grant with one client, or with every client; returns how many. */
  revokeUser(sub: string, clientId?: string): number {
    const grants = this.grantsOf(sub, clientId);
    grants.forEach((grant) => this.revokeGrant(grant));
    return grants.length;
  }

  /** Arms rotation for the user's next refresh grant; returns how many grants were armed. */
  requestRotation(sub: string, clientId?: string): number {
    const grants = this.grantsOf(sub, clientId);
    grants.forEach((grant) => (grant.rotateOnNextRefresh = true));
    return grants.length;
  }

  tokenState(sub: string): { accessTokenCount: number; refreshTokenActive: boolean } {
    const now = this.clock.nowMs();
    const live = [...this.accessTokens.values()].filter(
      (t) => t.kind === 'user' && t.owner === sub && t.expiresAtMs > now,
    );
    return {
      accessTokenCount: live.length,
      refreshTokenActive: this.grantsOf(sub).some((grant) => grant.refreshTokens.size > 0),
    };
  }

  private grantsOf(sub: string, clientId?: string): Grant[] {
    return [...this.grants.values()].filter(
      (g) => g.sub === sub && (clientId === undefined || g.clientId === clientId),
    );
  }

  private revokeGrant(grant: Grant): void {
    this.grants.delete(grantKey(grant.clientId, grant.sub));
    grant.refreshTokens.forEach((token) => {
      this.grantsByRefreshToken.delete(token);
      this.refreshTokenIssuedAtMs.delete(token);
      this.refreshTokenFailures.delete(token);
    });
    grant.refreshTokens.clear();
    for (const [token, record] of this.accessTokens) {
      if (record.kind === 'user' && record.owner === grant.sub && record.clientId === grant.clientId) {
        this.accessTokens.delete(token);
      }
    }
    for (const [code, record] of this.codes) {
      if (record.sub === grant.sub && record.clientId === grant.clientId) this.codes.delete(code);
    }
  }
}

function checkCause(cause: string): void {
  if (!(REFRESH_FAILURE_CAUSES as readonly string[]).includes(cause)) {
    throw new RangeError(`cause must be one of ${REFRESH_FAILURE_CAUSES.join(', ')}`);
  }
}
