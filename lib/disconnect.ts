/**
 * Disconnect: the user takes offline access back. The stored refresh token is revoked at
 * Google and its ciphertext destroyed; when Google cannot be reached the revocation is
 * queued (as ciphertext) and retried by the refresh worker through `retryRevocation`.
 *
 * Ordering, so no token is lost or leaked:
 * 1. read the record (ciphertext C, version v);
 * 2. decrypt C and revoke at Google — or, when that fails, queue C for a later revoke;
 * 3. destroy C and mark the user disconnected, only if the record is still at version v.
 * C is destroyed only once Google has revoked it or its revocation is safely queued, so a
 * crash in between leaves a (dead or queued) token that the client's retry finishes off.
 * A sign-in racing the disconnect bumps the version: we re-read and revoke that token too,
 * so what we store always matches Google (revoking one token ends the whole grant anyway).
 */
import { CiphertextError, type TokenCipher } from './crypto/envelope';
import { UpstreamUnavailableError } from './errors';
import type { GoogleGateway } from './google/gateway';
import { RECENT_SIGN_IN_SECONDS, type IdTokenVerifier } from './google/token-verifier';
import type { UserJobsCleanup } from './jobs/cleanup';
import { describeError, logger } from './log';
import { rememberSecret } from './redact';
import type { RevocationQueue } from './refresh/queue';
import type { UserStore } from './store/users';

/** Re-reads when a racing sign-in or rotation changes the record under a disconnect. */
const MAX_DISCONNECT_ROUNDS = 3;

export interface DisconnectResponse {
  userId: string;
  disconnected: true;
}

export interface DisconnectDependencies {
  store: Pick<UserStore, 'getUser' | 'markDisconnected'>;
  cipher: TokenCipher;
  oauth: Pick<GoogleGateway, 'revoke'>;
  idTokens: IdTokenVerifier;
  revocations: RevocationQueue;
  /** Forgets the offline jobs' state and stops the push channel (while the grant still works). */
  jobCleanup?: UserJobsCleanup;
  now?: () => number;
}

type RevokeOutcome = 'revoked' | 'queued' | 'undecryptable';

/** What a disconnect did with the stored token (for operators; `/disconnect` answers only the response). */
export interface DisconnectOutcome extends DisconnectResponse {
  revocation: RevokeOutcome | 'no_token_stored' | 'nothing_stored';
}

export class Disconnect {
  private readonly now: () => number;

  constructor(private readonly deps: DisconnectDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Disconnects the user the ID token names. Idempotent: 200 also when nothing is stored.
   * The token must come from a recent sign-in (`RECENT_SIGN_IN_SECONDS`): ending a user's
   * grant is an account action, and an hour-old token may have leaked from a log or device.
   * @throws InvalidIdTokenError (401); UpstreamUnavailableError (503) when Google's keys,
   * DynamoDB or (with Google down too) SQS are unavailable — nothing is destroyed then.
   */
  async disconnect(idToken: string): Promise<DisconnectResponse> {
    const { sub: userId } = await this.deps.idTokens.verify(idToken, { maxAgeSeconds: RECENT_SIGN_IN_SECONDS });
    await this.disconnectUser(userId);
    return { userId, disconnected: true };
  }

  /**
   * The disconnect itself, for a user already identified: `/disconnect` after verifying the
   * ID token, the operator CLI after its confirmation. Says what became of the stored token.
   * @throws UpstreamUnavailableError as `disconnect`
   */
  async disconnectUser(userId: string): Promise<DisconnectOutcome> {
    for (let round = 1; round <= MAX_DISCONNECT_ROUNDS; round++) {
      const record = await this.deps.store.getUser(userId);
      if (!record || (record.status === 'disconnected' && !record.refreshToken)) {
        logger.info('disconnect: nothing stored', { userId, known: Boolean(record) });
        return { userId, disconnected: true, revocation: 'nothing_stored' };
      }
      const outcome = record.refreshToken ? await this.revokeOrQueue(userId, record.refreshToken) : undefined;
      if (await this.deps.store.markDisconnected(userId, new Date(this.now()), record.tokenVersion)) {
        logger.info('disconnected', { userId, revocation: outcome ?? 'no_token_stored' });
        // Revoked tokens had their jobs' state forgotten before the revoke; the others here.
        if (outcome !== 'revoked') await this.deps.jobCleanup?.forgetUser(userId);
        return { userId, disconnected: true, revocation: outcome ?? 'no_token_stored' };
      }
      // A sign-in or rotation replaced the token meanwhile: Google's grant is already gone, finish that one too.
      logger.info('disconnect: record changed meanwhile, re-reading', { userId, round });
    }
    throw new UpstreamUnavailableError('The account is changing right now; retry the disconnect', {
      retryAfterSeconds: 1,
    });
  }

  private async revokeOrQueue(userId: string, ciphertext: Uint8Array): Promise<RevokeOutcome> {
    let refreshToken: string;
    try {
      refreshToken = await this.deps.cipher.decrypt(ciphertext, userId);
    } catch (error) {
      if (error instanceof CiphertextError) {
        // Nothing can ever decrypt it: destroying it is all that is left to do.
        logger.error('disconnect: stored ciphertext does not decrypt; destroying it unrevoked', { userId });
        return 'undecryptable';
      }
      // KMS is unavailable: the worker decrypts later, from the queued ciphertext.
      logger.warn('disconnect: cannot decrypt now, queueing the revocation', { userId, error: describeError(error) });
      await this.queue(userId, ciphertext);
      return 'queued';
    }
    rememberSecret(refreshToken);
    // Push channels can only be stopped with the grant alive: before the revoke.
    await this.deps.jobCleanup?.forgetUser(userId, refreshToken);
    try {
      await this.deps.oauth.revoke(refreshToken);
      return 'revoked';
    } catch (error) {
      logger.warn('disconnect: Google revoke failed, queueing a retry', { userId, error: describeError(error) });
      await this.queue(userId, ciphertext);
      return 'queued';
    }
  }

  private queue(userId: string, ciphertext: Uint8Array): Promise<void> {
    return this.deps.revocations.enqueue({
      kind: 'revoke',
      userId,
      ciphertext: Buffer.from(ciphertext).toString('base64'),
      attempt: 1,
    });
  }
}
