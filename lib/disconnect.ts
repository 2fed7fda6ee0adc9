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
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { CiphertextError, type TokenCipher } from './crypto/envelope';
import { InvalidIdTokenError, UpstreamUnavailableError } from './errors';
import type { GoogleOAuth } from './google/oauth';
import { RECENT_SIGN_IN_SECONDS, type IdTokenVerifier } from './google/token-verifier';
import type { HttpRequest } from './http';
import { describeError, logger } from './log';
import { rememberSecret } from './redact';
import type { RevokeTokenMessage } from './refresh/messages';
import type { TokenStore } from './store/token-store';

/** Attempts at revoking one queued token before giving up (default of `retryRevocation`). */
export const MAX_REVOKE_ATTEMPTS = 8;
/** Re-reads when a racing sign-in or rotation changes the record under a disconnect. */
const MAX_DISCONNECT_ROUNDS = 3;

export interface DisconnectResponse {
  userId: string;
  disconnected: true;
}

/** Where failed revocations wait for a retry (the refresh queue). */
export interface RevocationQueue {
  enqueue(message: RevokeTokenMessage, delaySeconds?: number): Promise<void>;
}

/** The refresh queue as a `RevocationQueue`. */
export class SqsRevocationQueue implements RevocationQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** @throws UpstreamUnavailableError when SQS does not take the message. */
  async enqueue(message: RevokeTokenMessage, delaySeconds = 0): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: JSON.stringify(message),
          DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))),
        }),
      );
    } catch (error) {
      throw new UpstreamUnavailableError('The revocation could not be queued for a retry', {
        cause: error instanceof Error ? new Error(`${error.name}: ${error.message}`) : undefined,
      });
    }
  }
}

export interface DisconnectDependencies {
  store: TokenStore;
  cipher: TokenCipher;
  oauth: Pick<GoogleOAuth, 'revoke'>;
  idTokens: IdTokenVerifier;
  revocations: RevocationQueue;
  now?: () => number;
}

/** The `Authorization: Bearer <ID token>` of a request. @throws InvalidIdTokenError (401) when absent. */
export function bearerIdToken(request: HttpRequest): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match?.[1]) throw new InvalidIdTokenError('An Authorization: Bearer <Google ID token> header is required');
  return match[1];
}

type RevokeOutcome = 'revoked' | 'queued' | 'undecryptable';

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
    for (let round = 1; round <= MAX_DISCONNECT_ROUNDS; round++) {
      const record = await this.deps.store.getUser(userId);
      if (!record || (record.status === 'disconnected' && !record.refreshToken)) {
        logger.info('disconnect: nothing stored', { userId, known: Boolean(record) });
        return { userId, disconnected: true };
      }
      const outcome = record.refreshToken ? await this.revokeOrQueue(userId, record.refreshToken) : undefined;
      if (await this.deps.store.markDisconnected(userId, new Date(this.now()), record.tokenVersion)) {
        logger.info('disconnected', { userId, revocation: outcome ?? 'no_token_stored' });
        return { userId, disconnected: true };
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

export interface RevocationRetryDependencies {
  cipher: TokenCipher;
  oauth: Pick<GoogleOAuth, 'revoke'>;
  /**
   * When given, a user who signed in again since the disconnect (active with another token)
   * is left alone: revoking the old token would end the new grant too.
   */
  store?: Pick<TokenStore, 'getUser'>;
  /**
   * When given, a failed attempt is re-queued with `attempt + 1` and a growing delay and the
   * call returns; without it the call throws so that SQS redelivers the message.
   */
  revocations?: RevocationQueue;
  /** SQS `ApproximateReceiveCount`, counted as attempts when the message is redelivered as is. */
  receiveCount?: number;
  /** Give up (with an error log) after this many attempts (default 8). */
  maxAttempts?: number;
}

/**
 * Retries a revocation queued by a disconnect (a `revoke` message of the refresh queue).
 * Resolves when Google revoked the token, when it is no longer worth trying (undecryptable,
 * user reconnected, attempts exhausted: logged), or when the retry was re-queued.
 * @throws UpstreamUnavailableError when Google (or KMS) is still unavailable and no
 * `revocations` queue was given: let SQS redeliver the message.
 */
export async function retryRevocation(message: RevokeTokenMessage, deps: RevocationRetryDependencies): Promise<void> {
  const { userId } = message;
  const attempt = Math.max(1, message.attempt) + Math.max(0, (deps.receiveCount ?? 1) - 1);
  const maxAttempts = deps.maxAttempts ?? MAX_REVOKE_ATTEMPTS;

  const ciphertext = Buffer.from(message.ciphertext, 'base64');
  const current = await deps.store?.getUser(userId);
  // Still holding this very ciphertext means the disconnect never finished its write: revoke anyway.
  if (current?.status === 'active' && current.refreshToken && !ciphertext.equals(Buffer.from(current.refreshToken))) {
    logger.info('revoke retry: user signed in again since the disconnect; not revoking', { userId, attempt });
    return;
  }
  try {
    const refreshToken = await deps.cipher.decrypt(ciphertext, userId);
    rememberSecret(refreshToken);
    await deps.oauth.revoke(refreshToken);
    logger.info('revoke retry: token revoked at Google', { userId, attempt });
  } catch (error) {
    if (error instanceof CiphertextError) {
      logger.error('revoke retry: ciphertext does not decrypt; giving up', { userId, attempt });
      return;
    }
    if (attempt >= maxAttempts) {
      logger.error('revoke retry: giving up; the grant may still be live at Google', {
        userId,
        attempt,
        error: describeError(error),
      });
      return;
    }
    logger.warn('revoke retry failed; will retry', { userId, attempt, error: describeError(error) });
    if (!deps.revocations) {
      throw error instanceof UpstreamUnavailableError
        ? error
        : new UpstreamUnavailableError('The revocation failed; retry later', { cause: error });
    }
    // Exponential backoff within SQS's 15-minute delay limit: 30 s, 60 s, 120 s, …
    await deps.revocations.enqueue({ ...message, attempt: attempt + 1 }, Math.min(900, 30 * 2 ** (attempt - 1)));
  }
}
