/**
 * Retrying a revocation that a disconnect could not finish: the `revoke` messages of the
 * refresh queue, which carry the refresh token's envelope ciphertext (never plaintext;
 * the table copy is already destroyed). The refresh worker hands them here.
 */
import { CiphertextError, type TokenCipher } from './crypto/envelope';
import { UpstreamUnavailableError } from './errors';
import type { GoogleGateway } from './google/gateway';
import { describeError, logger } from './log';
import { rememberIssuedSecret } from './redact';
import type { RevokeTokenMessage } from './refresh/messages';
import type { RevocationQueue } from './refresh/queue';
import type { UserStore } from './store/users';

/** Attempts at revoking one queued token before giving up (default of `retryRevocation`). */
export const MAX_REVOKE_ATTEMPTS = 8;

export interface RevocationRetryDependencies {
  cipher: TokenCipher;
  oauth: Pick<GoogleGateway, 'revoke'>;
  /**
   * When given, a user who signed in again since the disconnect (active with another token)
   * is left alone: revoking the old token would end the new grant too.
   */
  store?: Pick<UserStore, 'getUser'>;
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
    rememberIssuedSecret(refreshToken);
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
