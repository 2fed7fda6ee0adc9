/**
 * The typed client of the token function, for the company's own jobs:
 *
 *   const { accessToken } = await getAccessToken({ userId, scopes: [DRIVE_APPDATA] });
 *
 * It invokes the function with the AWS SDK (the caller's role needs `grantTokenAccess`) and
 * turns each documented error answer into its own error class, so a job can tell "ask the
 * user to reconnect" from "retry later". It never logs, and its errors never carry, a token.
 *
 * The function is named by `functionName`, else `ACCESS_TOKEN_FUNCTION` (its name or ARN:
 * the stack's `TokenFunctionArn` output). Locally `AWS_ENDPOINT_URL_LAMBDA` points the SDK
 * at the local stack's Invoke endpoint.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

export interface AccessTokenRequest {
  userId: string;
  /** Scopes the job needs; the user must have granted each. Default: whatever the user granted. */
  scopes?: string[];
  /** The token must stay valid at least this long (default 300, at most 1800). */
  minValiditySeconds?: number;
}

export interface AccessToken {
  accessToken: string;
  expiresAt: Date;
  /** Every scope the token carries. */
  scopes: string[];
}

/** Any failure to get a token. `code` is the function's error code (or `internal_error`). */
export class AccessTokenError extends Error {
  override readonly name: string = 'AccessTokenError';
  /** Worth retrying later (Google or AWS unavailable). */
  readonly retryable: boolean;

  constructor(
    readonly code: string,
    message: string,
    readonly userId: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** The user never connected, or disconnected (`reason` `user_disconnected`). */
export class NotConnectedError extends AccessTokenError {
  override readonly name = 'NotConnectedError';
  constructor(
    message: string,
    userId: string,
    readonly reason?: string,
  ) {
    super('not_connected', message, userId);
  }
}

/** The grant is gone (revoked, expired, ...): the user must sign in again. `reason` says why. */
export class NeedsReconnectError extends AccessTokenError {
  override readonly name = 'NeedsReconnectError';
  constructor(
    message: string,
    userId: string,
    readonly reason: string,
  ) {
    super('needs_reconnect', message, userId);
  }
}

/** The user did not grant a scope the job asked for. */
export class ScopeNotGrantedError extends AccessTokenError {
  override readonly name = 'ScopeNotGrantedError';
  constructor(message: string, userId: string) {
    super('scope_not_granted', message, userId);
  }
}

/** Google or AWS is unavailable right now: retry later (with backoff). */
export class TokenServiceUnavailableError extends AccessTokenError {
  override readonly name = 'TokenServiceUnavailableError';
  constructor(message: string, userId: string, cause?: unknown) {
    super('upstream_unavailable', message, userId, { retryable: true, cause });
  }
}

/** The request itself is wrong (the job's bug): retrying will not help. */
export class InvalidTokenRequestError extends AccessTokenError {
  override readonly name = 'InvalidTokenRequestError';
  constructor(message: string, userId: string) {
    super('invalid_request', message, userId);
  }
}

export interface AccessTokenClientOptions {
  /** Name or ARN of the token function. @default process.env.ACCESS_TOKEN_FUNCTION */
  functionName?: string;
  /** @default a LambdaClient from the environment (region, credentials, AWS_ENDPOINT_URL_LAMBDA) */
  lambda?: LambdaClient;
}

interface Answer {
  accessToken?: unknown;
  expiresAt?: unknown;
  scopes?: unknown;
  error?: unknown;
  message?: unknown;
  reason?: unknown;
}

export class AccessTokenClient {
  private readonly functionName: string;
  private readonly lambda: LambdaClient;

  constructor(options: AccessTokenClientOptions = {}) {
    const functionName = options.functionName ?? process.env.ACCESS_TOKEN_FUNCTION;
    if (!functionName)
      throw new Error(
        'No token function: pass functionName or set ACCESS_TOKEN_FUNCTION (the stack output TokenFunctionArn)',
      );
    this.functionName = functionName;
    this.lambda = options.lambda ?? new LambdaClient({});
  }

  /**
   * A valid access token for the user.
   * @throws NotConnectedError, NeedsReconnectError, ScopeNotGrantedError,
   *   TokenServiceUnavailableError (retryable), InvalidTokenRequestError, AccessTokenError
   */
  async getAccessToken(request: AccessTokenRequest): Promise<AccessToken> {
    const { userId } = request;
    let answer: Answer;
    try {
      const out = await this.lambda.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
      if (out.FunctionError) {
        // The function crashed or timed out; its error payload is not shown (it is not ours to trust).
        throw new AccessTokenError('internal_error', `The token function failed (${out.FunctionError})`, userId, {
          retryable: true,
        });
      }
      answer = JSON.parse(new TextDecoder().decode(out.Payload)) as Answer;
    } catch (error) {
      if (error instanceof AccessTokenError) throw error;
      if (isRetryableAwsError(error))
        throw new TokenServiceUnavailableError('The token function is unavailable; retry later', userId, error);
      throw new AccessTokenError('internal_error', `Could not invoke the token function: ${errorName(error)}`, userId, {
        cause: error,
      });
    }
    return toAccessToken(answer, userId);
  }
}

function toAccessToken(answer: Answer, userId: string): AccessToken {
  if (typeof answer.accessToken === 'string' && typeof answer.expiresAt === 'string') {
    return {
      accessToken: answer.accessToken,
      expiresAt: new Date(answer.expiresAt),
      scopes: Array.isArray(answer.scopes) ? answer.scopes.filter((s): s is string => typeof s === 'string') : [],
    };
  }
  const message = typeof answer.message === 'string' ? answer.message : 'The token function refused';
  const reason = typeof answer.reason === 'string' ? answer.reason : undefined;
  switch (answer.error) {
    case 'not_connected':
      throw new NotConnectedError(message, userId, reason);
    case 'needs_reconnect':
      throw new NeedsReconnectError(message, userId, reason ?? 'revoked');
    case 'scope_not_granted':
      throw new ScopeNotGrantedError(message, userId);
    case 'upstream_unavailable':
      throw new TokenServiceUnavailableError(message, userId);
    case 'invalid_request':
      throw new InvalidTokenRequestError(message, userId);
    default:
      throw new AccessTokenError(typeof answer.error === 'string' ? answer.error : 'internal_error', message, userId);
  }
}

function isRetryableAwsError(error: unknown): boolean {
  const aws = error as { $retryable?: unknown; $fault?: string; name?: string } | null;
  return Boolean(aws && (aws.$retryable || aws.$fault === 'server' || aws.name === 'TooManyRequestsException'));
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'unknown error');

let defaultClient: AccessTokenClient | undefined;

/** `getAccessToken` on a client built once from the environment (ACCESS_TOKEN_FUNCTION). */
export function getAccessToken(request: AccessTokenRequest): Promise<AccessToken> {
  defaultClient ??= new AccessTokenClient();
  return defaultClient.getAccessToken(request);
}
