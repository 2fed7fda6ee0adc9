/**
 * The RISC receiver: verifies a security event token, acts on it once and acknowledges.
 * The `jti` is claimed (in progress) before acting and marked done only after, so a crash in
 * between lets Google's redelivery act. Acting means destroying stored refresh tokens Google
 * says are revoked — for account-wide events only those stored before the event, so a grant
 * the user gave afterwards survives a late delivery or a replay; account events we cannot act
 * on are acknowledged and logged. Neither the SET nor any token identifier is ever logged.
 */
import { GOOGLE_ISSUERS, RISC_ISSUER, optionalEnv } from '../config';
import { prefixHash } from '../crypto/envelope';
import { InvalidRequestError, PayloadTooLargeError, UpstreamUnavailableError } from '../errors';
import type { HttpRequest, HttpResult } from '../http';
import { describeError, logger } from '../log';
import type { UserJobsCleanup } from '../jobs/cleanup';
import type { SecurityEventLedger } from '../store/security-event-ledger';
import type { Revocation, UserRecord, UserStore } from '../store/users';
import { eventName, normalizeBase64, parseSubject, safeReason, type AccountSubject, type TokenSubject } from './events';
import type { SecurityEventToken, SecurityEventTokenVerifier } from '../google/token-verifier';

/** How long a processed `jti` is remembered: longer than Google keeps redelivering. */
export const DEFAULT_REPLAY_WINDOW_MS = 7 * 24 * 60 * 60_000;
/** Security event tokens are a few hundred bytes; anything this large is not one. */
export const MAX_SET_BYTES = 16 * 1024;
/** Re-reads when a racing sign-in changes a record between our read and our write. */
const MAX_REVOKE_ROUNDS = 3;
/** How long one delivery may act on an event before a redelivery may take it over (a crash). */
export const EVENT_LEASE_MS = 60_000;
/**
 * A token stored up to this long after the event's `iat` still counts as stored before it:
 * clocks differ a little, and an exchange writes its token a few seconds after Google issued it.
 */
export const EVENT_TIME_SKEW_MS = 60_000;

/** The SET issuer: `RISC_ISSUER`, default `https://accounts.google.com/`. */
export function riscIssuer(env: Record<string, string | undefined> = process.env): string {
  return optionalEnv('RISC_ISSUER', env) ?? RISC_ISSUER;
}

/**
 * The raw compact JWT of a `application/secevent+jwt` push (API Gateway may have base64-encoded it).
 * @throws AppError 413 when oversized; InvalidRequestError (400) when empty.
 */
export function readSecurityEventToken(request: HttpRequest): string {
  if (request.body.length > MAX_SET_BYTES) {
    throw new PayloadTooLargeError(MAX_SET_BYTES);
  }
  const token = request.body.toString('utf8').trim();
  if (!token) throw new InvalidRequestError('Send the security event token as the request body');
  // Not remembered for redaction: every SET is a JWT, which lib/redact's pattern already masks, and a
  // warm receiver would otherwise fill the remembered-secret list with one entry per push.
  return token;
}

/** RFC 8935 push delivery: a bare 202 acknowledges the SET. */
export function acceptedResponse(): HttpResult {
  return { statusCode: 202, headers: { 'cache-control': 'no-store' }, body: '' };
}

export interface RiscEventOutcome {
  /** Short event name, or the URI for an event type we do not know. */
  event: string;
  /** Users whose stored refresh token was destroyed. */
  revokedUsers: string[];
}

export interface RiscReceipt {
  jti: string;
  /** True when this `jti` was already processed: acknowledged, not acted on again. */
  replay: boolean;
  /** True when the event is older than the replay window: acknowledged, not acted on. */
  stale?: boolean;
  outcomes: RiscEventOutcome[];
}

export interface RiscReceiverDependencies {
  store: Pick<UserStore, 'getUser' | 'markRevoked' | 'findUsersByTokenHash' | 'findUsersByTokenPrefixHash'>;
  securityEvents: SecurityEventLedger;
  verifier: SecurityEventTokenVerifier;
  /** Issuers accepted in `iss-sub` subjects besides the SET issuer (default: Google's). */
  subjectIssuers?: readonly string[];
  replayWindowMs?: number;
  /** Forgets a revoked user's offline jobs state (the grant is dead: channels lapse by themselves). */
  jobCleanup?: Pick<UserJobsCleanup, 'forgetUser'>;
  now?: () => number;
}

export class RiscReceiver {
  private readonly now: () => number;
  private readonly subjectIssuers: ReadonlySet<string>;

  constructor(private readonly deps: RiscReceiverDependencies) {
    this.now = deps.now ?? Date.now;
    this.subjectIssuers = new Set([RISC_ISSUER, ...GOOGLE_ISSUERS, ...(deps.subjectIssuers ?? [])]);
  }

  /**
   * Verifies and processes one SET.
   * @throws InvalidSecurityEventError (400) before anything is changed; AppError 5xx when
   * acting failed — the `jti` is forgotten then, so Google's redelivery is acted on.
   */
  async receive(token: string): Promise<RiscReceipt> {
    const set = await this.deps.verifier.verify(token);
    const nowMs = this.now();
    const windowMs = this.deps.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    if (set.iat * 1000 < nowMs - windowMs) {
      // Older than we remember `jti`s: it may have been acted on already, and acting now could
      // only hit grants given since. Acknowledged (Google stops redelivering), never acted on.
      logger.warn('risc: security event older than the replay window acknowledged, not acted on', {
        jti: set.jti,
        iat: set.iat,
        events: eventNames(set),
      });
      return { jti: set.jti, replay: false, stale: true, outcomes: [] };
    }
    const claim = await this.deps.securityEvents.begin(set.jti, nowMs, EVENT_LEASE_MS, windowMs);
    if (claim === 'done') {
      logger.info('risc: replayed security event acknowledged', { jti: set.jti, events: eventNames(set) });
      return { jti: set.jti, replay: true, outcomes: [] };
    }
    if (claim === 'in_progress') {
      // Not acknowledged: if that delivery dies, this event must come again and be acted on.
      throw new UpstreamUnavailableError('This security event is being processed; deliver it again later', {
        retryAfterSeconds: Math.ceil(EVENT_LEASE_MS / 1000),
      });
    }
    let outcomes: RiscEventOutcome[];
    try {
      outcomes = [];
      for (const [type, event] of Object.entries(set.events)) outcomes.push(await this.act(set, type, event));
    } catch (error) {
      await this.deps.securityEvents.forget(set.jti).catch((forgetError: unknown) =>
        logger.error('risc: could not forget a failed event; its redelivery waits for the lease to run out', {
          jti: set.jti,
          error: describeError(forgetError),
        }),
      );
      throw error;
    }
    // Only now is it done. Should this write fail, the claim's lease runs out and the
    // redelivery acts again, which finds nothing left to destroy.
    await this.deps.securityEvents.complete(set.jti, this.now(), windowMs);
    return { jti: set.jti, replay: false, outcomes };
  }

  private async act(set: SecurityEventToken, type: string, event: unknown): Promise<RiscEventOutcome> {
    const name = eventName(type);
    const subject = parseSubject(event);
    const reason = safeReason((event as { reason?: unknown } | undefined)?.reason);
    const context = { jti: set.jti, event: name ?? type, iat: set.iat, ...(reason ? { reason } : {}) };
    const done = (revokedUsers: string[] = []): RiscEventOutcome => ({ event: name ?? type, revokedUsers });

    switch (name) {
      case 'token-revoked': {
        if (subject?.kind !== 'token')
          return this.ignore('risc: token-revoked without an oauth_token subject', context);
        const revoked = await this.revokeToken(subject, {
          reason: 'revoked',
          detail: `risc:token-revoked${reason ? `:${reason}` : ''}`,
        });
        logger.info('risc: token-revoked processed', { ...context, alg: subject.alg, revokedUsers: revoked });
        return done(revoked);
      }
      case 'tokens-revoked':
      case 'account-disabled': {
        const account = this.accountOf(subject);
        if (!account) return this.ignore(`risc: ${name} without a Google iss-sub subject`, context);
        const revocation: Revocation = {
          reason: name === 'account-disabled' ? 'account_disabled' : 'revoked',
          detail: `risc:${name}${reason ? `:${reason}` : ''}`,
        };
        const revoked = (await this.revokeStoredBefore(set.iat, account.sub, revocation)) ? [account.sub] : [];
        logger.info(`risc: ${name} processed`, { ...context, userId: account.sub, tokenDestroyed: revoked.length > 0 });
        return done(revoked);
      }
      case 'sessions-revoked':
      case 'account-enabled':
      case 'account-credential-change-required': {
        // We hold no sessions or passwords: nothing to end; the log is the audit trail.
        logger.info(`risc: ${name} acknowledged`, { ...context, userId: this.accountOf(subject)?.sub });
        return done();
      }
      case 'verification': {
        const state = (event as { state?: unknown } | undefined)?.state;
        logger.info('risc: verification event received', {
          ...context,
          state: typeof state === 'string' ? state.slice(0, 256) : undefined,
        });
        return done();
      }
      default:
        return this.ignore('risc: unknown event type acknowledged', context);
    }
  }

  private ignore(message: string, context: Record<string, unknown>): RiscEventOutcome {
    logger.warn(message, context);
    return { event: String(context.event), revokedUsers: [] };
  }

  private accountOf(subject: ReturnType<typeof parseSubject>): AccountSubject | undefined {
    if (subject?.kind !== 'account') return undefined;
    return subject.iss === undefined || this.subjectIssuers.has(subject.iss) ? subject : undefined;
  }

  /** Destroys exactly the stored token(s) that the prefix or hash identifies. */
  private async revokeToken(subject: TokenSubject, revocation: Revocation): Promise<string[]> {
    const byPrefix = subject.alg === 'prefix';
    const hash = byPrefix ? prefixHash(subject.value.slice(0, 16)) : normalizeBase64(subject.value);
    const userIds = byPrefix
      ? await this.deps.store.findUsersByTokenPrefixHash(hash)
      : await this.deps.store.findUsersByTokenHash(hash);
    const matches = (record: UserRecord) => (byPrefix ? record.tokenPrefixHash : record.tokenHash) === hash;
    const revoked: string[] = [];
    for (const userId of userIds) if (await this.revokeIf(userId, revocation, matches)) revoked.push(userId);
    return revoked;
  }

  /**
   * Destroys the user's stored token if it was stored before the event (`iat`, in seconds,
   * never later than now, plus the skew). A record without `tokenStoredAt` predates it.
   */
  private revokeStoredBefore(iat: number, userId: string, revocation: Revocation): Promise<boolean> {
    const cutoffMs = Math.min(iat * 1000, this.now()) + EVENT_TIME_SKEW_MS;
    const storedBefore = (record: UserRecord) =>
      record.tokenStoredAt === undefined || Date.parse(record.tokenStoredAt) <= cutoffMs;
    return this.revokeIf(userId, revocation, storedBefore);
  }

  /**
   * Destroys the user's stored token if it still `matches`, guarded by the token version so
   * that a sign-in landing meanwhile is re-checked rather than destroyed blindly.
   */
  private async revokeIf(
    userId: string,
    revocation: Revocation,
    matches: (record: UserRecord) => boolean,
  ): Promise<boolean> {
    for (let round = 1; round <= MAX_REVOKE_ROUNDS; round++) {
      const record = await this.deps.store.getUser(userId);
      if (!record?.refreshToken || !matches(record)) return false;
      if (await this.deps.store.markRevoked(userId, revocation, new Date(this.now()), record.tokenVersion)) {
        await this.deps.jobCleanup?.forgetUser(userId);
        return true;
      }
    }
    throw new UpstreamUnavailableError('The account kept changing while a security event was processed');
  }
}

function eventNames(set: SecurityEventToken): string[] {
  return Object.keys(set.events).map((type) => eventName(type) ?? type);
}
