/**
 * One Google emulator instance: its state, its HTTP server, and the programmatic
 * control methods (each also reachable over HTTP under /emulator/).
 */
import { browserRoutes } from './browser/routes';
import { EmulatorClock, unixSeconds } from './clock';
import type { EmulatorContext } from './context';
import { controlRoutes } from './control/routes';
import { driveChangeRoutes } from './drive/changes';
import { PushChannels, type PushDelivery, type WatchChannel } from './drive/push';
import { DriveStore, toResource, type DriveFileResource } from './drive/store';
import { driveRoutes } from './drive/routes';
import { FaultInjector, type FaultSpec } from './faults';
import { IssuedSecrets } from './issued-secrets';
import { certsRoutes } from './oauth/certs-endpoint';
import { ClientRegistry, DEFAULT_LOCAL_CLIENT, type EmulatorClient, type PublishingStatus } from './oauth/clients';
import { GrantStore, type RefreshFailureCause } from './oauth/grants';
import { checkIdTokenOverride, signIdTokenWithOverride, type IdTokenOverride } from './oauth/id-token-overrides';
import { revokeRoutes } from './oauth/revoke-endpoint';
import { DEFAULT_GRANTED_SCOPES, normalizeScopes } from './oauth/scopes';
import { ServiceAccountRegistry, type ServiceAccountKey } from './oauth/service-accounts';
import { tokenRoutes } from './oauth/token-endpoint';
import { tokeninfoRoutes } from './oauth/tokeninfo-endpoint';
import { idTokenClaims, profileWithDefaults, type UserProfile } from './oauth/users';
import { RequestLog, type RequestLogEntry } from './request-log';
import { riscRoutes } from './risc/routes';
import { signSecurityEvent, type SecurityEventRequest } from './risc/security-events';
import { RiscStreams, type RiscStreamConfig } from './risc/stream';
import { Router } from './router';
import { EmulatorServer } from './server';
import { SigningKeyRing } from './signing-keys';

export interface GoogleEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Registered besides DEFAULT_LOCAL_CLIENT. */
  clients?: EmulatorClient[];
  /** max-age of the certs responses (default 300). */
  certsMaxAgeSeconds?: number;
}

/** A user signing in and consenting: what the Google Sign-In SDK would do on the device. */
export interface AuthorizeRequest extends Partial<Omit<UserProfile, 'sub'>> {
  sub: string;
  /** The server client the code is for (default DEFAULT_LOCAL_CLIENT). */
  clientId?: string;
  /** Scopes the user granted (default drive.appdata, openid, email, profile). */
  scopes?: string[];
  /** The consent screen is shown again, so the code yields a refresh token. */
  forceConsent?: boolean;
  /** The Android/iOS client that asked (ID token `azp`; default `clientId`). */
  azp?: string;
  /** `''` (Android, default) or `postmessage` (web popup). */
  redirectUri?: string;
  /** Test hook: the ID token this code's exchange returns carries these claims, or is broken. */
  idToken?: IdTokenOverride;
}

/** Claims for a test ID token; anything besides the named fields overrides a claim. */
export interface IdTokenRequest {
  sub: string;
  aud?: string;
  azp?: string;
  email?: string;
  /** Header `kid` override. */
  kid?: string;
  /** A deliberately broken token, as for a code's `idToken.tamper`. */
  tamper?: IdTokenOverride['tamper'];
  /** Merged over everything else; a claim set to `undefined` is left out of the token. */
  claims?: Record<string, unknown>;
  [claim: string]: unknown;
}

export interface SeedFileRequest {
  name: string;
  /** Bytes (default: the length of `content`, else 0). */
  size?: number;
  mimeType?: string;
  /** RFC 3339. */
  modifiedTime?: string;
  content?: string;
}

export interface TokenState {
  accessTokenCount: number;
  refreshTokenActive: boolean;
}

const DEFAULT_CERTS_MAX_AGE_S = 300;

export class GoogleEmulator {
  private readonly ctx: EmulatorContext;
  private readonly faults = new FaultInjector();
  private readonly log = new RequestLog();
  private readonly server: EmulatorServer;
  private port = 0;

  private constructor(options: GoogleEmulatorOptions, keys: SigningKeyRing) {
    const clock = new EmulatorClock();
    const clients = new ClientRegistry();
    [DEFAULT_LOCAL_CLIENT, ...(options.clients ?? [])].forEach((client) => clients.register(client));
    const issued = new IssuedSecrets();
    const push = new PushChannels(clock);
    this.ctx = {
      clock,
      clients,
      issued,
      grants: new GrantStore(clock, issued),
      keys,
      serviceAccounts: new ServiceAccountRegistry(),
      drive: new DriveStore(clock, (owner, change) => push.notify(owner, change)),
      push,
      risc: new RiscStreams(),
      certsMaxAgeSeconds: options.certsMaxAgeSeconds ?? DEFAULT_CERTS_MAX_AGE_S,
      baseUrl: () => this.url,
    };
    const router = new Router([
      ...tokenRoutes(this.ctx),
      ...revokeRoutes(this.ctx),
      ...certsRoutes(this.ctx),
      ...tokeninfoRoutes(this.ctx),
      ...driveRoutes(this.ctx),
      ...driveChangeRoutes(this.ctx),
      ...riscRoutes(this.ctx),
      ...browserRoutes(this.ctx),
      ...controlRoutes(this),
    ]);
    this.server = new EmulatorServer({ router, faults: this.faults, log: this.log, clock });
  }

  static async start(options: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
    const keys = new SigningKeyRing();
    await keys.rotate();
    const emulator = new GoogleEmulator(options, keys);
    emulator.port = await emulator.server.listen(options.port ?? 0);
    return emulator;
  }

  /** `127.0.0.1:PORT`, the value GOOGLE_EMULATOR_HOST takes. */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://${this.hostPort}`;
  }

  /** Stops the server and ends every open request (including hung ones). */
  close(): Promise<void> {
    return this.server.close();
  }

  /** A user signs in and consents; returns the one-time server auth code. */
  authorize(request: AuthorizeRequest): { code: string } {
    const {
      sub,
      clientId = DEFAULT_LOCAL_CLIENT.clientId,
      scopes,
      forceConsent,
      azp,
      redirectUri = '',
      idToken,
      ...profile
    } = request;
    if (!sub) throw new RangeError('sub is required');
    const client = this.ctx.clients.get(clientId);
    if (!client) throw new RangeError(`unknown client ${clientId}`);
    if (!client.redirectUris.includes(redirectUri)) {
      throw new RangeError(`redirect URI "${redirectUri}" is not registered for ${clientId}`);
    }
    if (idToken) checkIdTokenOverride(idToken);
    const code = this.ctx.grants.authorize({
      clientId,
      profile: profileWithDefaults(sub, profile),
      scopes: normalizeScopes(scopes ?? DEFAULT_GRANTED_SCOPES),
      azp: azp ?? clientId,
      redirectUri,
      forceConsent: forceConsent ?? false,
      idTokenOverride: idToken,
    });
    return { code };
  }

  registerClient(client: EmulatorClient): void {
    this.ctx.clients.register(client);
  }

  /** The registered client's secret (what its client_secret.json holds). */
  clientSecret(clientId: string): string {
    const client = this.ctx.clients.get(clientId);
    if (!client) throw new RangeError(`unknown client ${clientId}`);
    return client.clientSecret;
  }

  /** Every code, token and key value handed out so far, for leak assertions in tests. */
  issuedSecrets(): string[] {
    return this.ctx.issued.list();
  }

  /** The next matching request(s) fail as described. */
  injectFault(fault: FaultSpec): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Revokes the user's grant (every token) with one client or all; returns how many grants. */
  revokeUser(sub: string, options: { clientId?: string } = {}): number {
    return this.ctx.grants.revokeUser(sub, options.clientId);
  }

  /**
   * From now on every refresh grant of the user's grant(s) is refused with `cause`'s body
   * (`revoked`, `invalid_rapt`, `admin_policy_enforced`), until the user consents again.
   * Returns how many grants were armed.
   */
  failRefreshes(sub: string, cause: RefreshFailureCause, options: { clientId?: string } = {}): number {
    return this.ctx.grants.failRefreshes(sub, cause, options.clientId);
  }

  /** The same for one refresh token (by value); false when the emulator never issued it. */
  failRefreshToken(refreshToken: string, cause: RefreshFailureCause): boolean {
    return this.ctx.grants.failRefreshToken(refreshToken, cause);
  }

  /**
   * The client's OAuth consent screen publishing status. In `testing`, a refresh token dies 7
   * days (emulator clock: see `advanceClock`) after it was issued, with `invalid_grant`.
   */
  setPublishingStatus(status: PublishingStatus, options: { clientId?: string } = {}): void {
    this.ctx.clients.setPublishingStatus(options.clientId ?? DEFAULT_LOCAL_CLIENT.clientId, status);
  }

  /** The user's next refresh grant returns a new refresh token and retires the old one. */
  rotateRefreshTokenOnNextRefresh(sub: string, options: { clientId?: string } = {}): number {
    return this.ctx.grants.requestRotation(sub, options.clientId);
  }

  /**
   * Moves the emulator's clock: codes, access tokens and (in Testing mode) refresh tokens
   * expire by it; signed tokens keep real time.
   */
  advanceClock(seconds: number): void {
    this.ctx.clock.advance(seconds);
  }

  now(): Date {
    return new Date(this.ctx.clock.nowMs());
  }

  requests(): RequestLogEntry[] {
    return this.log.list();
  }

  clearRequests(): void {
    this.log.clear();
  }

  /** A new signing key; the old ones stay published unless `dropOld`. */
  async rotateKeys(options: { dropOld?: boolean } = {}): Promise<{ kid: string }> {
    const key = await this.ctx.keys.rotate(options);
    return { kid: key.kid };
  }

  /** An ID token as Google would issue it (all profile claims), signed with the current key. */
  signIdToken(request: IdTokenRequest): string {
    const { sub, aud = DEFAULT_LOCAL_CLIENT.clientId, azp = aud, email, kid, tamper, claims, ...overrides } = request;
    const profile = profileWithDefaults(sub, { email });
    const iat = typeof overrides.iat === 'number' ? overrides.iat : unixSeconds();
    const standard = idTokenClaims({ profile, scopes: DEFAULT_GRANTED_SCOPES, aud, azp, iatSeconds: iat });
    const merged = { ...standard, ...overrides, ...claims };
    if (tamper) {
      checkIdTokenOverride({ tamper });
      const secret = typeof aud === 'string' ? this.ctx.clients.get(aud)?.clientSecret : undefined;
      return this.ctx.issued.add(signIdTokenWithOverride(this.ctx.keys, merged, { tamper }, secret));
    }
    return this.ctx.issued.add(this.ctx.keys.sign(merged, { kid }));
  }

  /** A RISC Security Event Token signed with the current key. */
  signSecurityEvent(request: SecurityEventRequest): string {
    return signSecurityEvent(this.ctx.keys, request, unixSeconds());
  }

  /** The stream registered through the RISC API, if any. */
  riscStream(): RiscStreamConfig | undefined {
    return this.ctx.risc.current();
  }

  /**
   * A service-account key the emulator trusts for the JWT-bearer grant. Its project's
   * OAuth client (`clientId`, default DEFAULT_LOCAL_CLIENT) is the `aud` of RISC events.
   */
  async createServiceAccount(options: { clientId?: string } = {}): Promise<ServiceAccountKey> {
    const key = await this.ctx.serviceAccounts.create(this.url, options.clientId ?? DEFAULT_LOCAL_CLIENT.clientId);
    this.ctx.issued.add(key.private_key);
    return key;
  }

  /** Puts a file in the user's app data folder. */
  seedDriveFile(sub: string, file: SeedFileRequest): DriveFileResource {
    const modifiedMs = file.modifiedTime === undefined ? undefined : Date.parse(file.modifiedTime);
    if (Number.isNaN(modifiedMs)) throw new RangeError('modifiedTime must be RFC 3339');
    if (!file.name) throw new RangeError('name is required');
    const stored = this.ctx.drive.of(sub).create({
      name: file.name,
      mimeType: file.mimeType ?? 'application/octet-stream',
      parentId: 'appDataFolder',
      size: file.size ?? (file.content === undefined ? 0 : Buffer.byteLength(file.content)),
      modifiedMs,
    });
    return toResource(stored);
  }

  /** Deletes a file of the user's Drive (a `removed` change); false when there is none. */
  deleteDriveFile(sub: string, fileId: string): boolean {
    return this.ctx.drive.of(sub).delete(fileId);
  }

  /** Every Drive page token handed out to the user so far is rejected from now on. */
  expireDrivePageTokens(sub: string): void {
    this.ctx.drive.of(sub).expirePageTokens();
  }

  /** Live Drive push channels (no token values). */
  driveChannels(): Omit<WatchChannel, 'token'>[] {
    return this.ctx.push.list();
  }

  /** Every push notification sent so far, with the receiver's answer. */
  pushDeliveries(): PushDelivery[] {
    return this.ctx.push.deliveries();
  }

  /** Resolves once every push notification sent so far has been answered. */
  pushIdle(): Promise<void> {
    return this.ctx.push.idle();
  }

  /** How many live access tokens the user has, and whether a refresh token is active (no values). */
  tokenState(sub: string): TokenState {
    return this.ctx.grants.tokenState(sub);
  }
}
