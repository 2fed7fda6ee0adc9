/**
 * One error hierarchy for the whole product. Every error a handler can surface is an
 * `AppError` with an HTTP status and one of the contract's error codes; `lib/http.ts`
 * maps it to a response in one place. Messages never carry a token, code or secret.
 */
export type ErrorCode =
  | 'csrf_header_missing'
  | 'invalid_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'invalid_grant'
  | 'invalid_id_token'
  | 'invalid_token'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'internal_error'
  // The token function's refusals (direct Invoke, not HTTP: the statuses only complete the table).
  | 'not_connected'
  | 'needs_reconnect'
  | 'scope_not_granted';

const STATUS: Record<ErrorCode, number> = {
  csrf_header_missing: 403,
  invalid_request: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_grant: 400,
  invalid_id_token: 401,
  invalid_token: 400,
  upstream_error: 502,
  upstream_unavailable: 503,
  internal_error: 500,
  not_connected: 404,
  needs_reconnect: 409,
  scope_not_granted: 403,
};

export interface AppErrorOptions {
  cause?: unknown;
  /** Seconds a client should wait before retrying (503 only). */
  retryAfterSeconds?: number;
  /** Google's `error` code when Google's answer caused this (log-safe, never a body). */
  googleError?: string;
  /** Google's HTTP status when Google's answer caused this. */
  googleStatus?: number;
  /** Google's `error_subtype` (e.g. `invalid_rapt`), when it sent one. */
  googleErrorSubtype?: string;
}

export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly googleError?: string;
  readonly googleStatus?: number;
  readonly googleErrorSubtype?: string;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.status = STATUS[code];
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
    if (options.googleError !== undefined) this.googleError = options.googleError;
    if (options.googleStatus !== undefined) this.googleStatus = options.googleStatus;
    if (options.googleErrorSubtype !== undefined) this.googleErrorSubtype = options.googleErrorSubtype;
  }

  toJSON(): { error: ErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }
}

/** Bad input from the caller. */
export class InvalidRequestError extends AppError {
  override readonly name = 'InvalidRequestError';
  constructor(message: string) {
    super('invalid_request', message);
  }
}

/** The seed's CSRF defence: the `X-Requested-With` header is missing. */
export class CsrfHeaderMissingError extends AppError {
  override readonly name = 'CsrfHeaderMissingError';
  constructor(message = 'The X-Requested-With header is required') {
    super('csrf_header_missing', message);
  }
}

export class PayloadTooLargeError extends AppError {
  override readonly name = 'PayloadTooLargeError';
  constructor(maxBytes: number) {
    super('payload_too_large', `Request body is over ${maxBytes} bytes`);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor(message: string) {
    super('unsupported_media_type', message);
  }
}

/** Anything we did not plan for: 500, with no detail for the caller. */
export class InternalError extends AppError {
  override readonly name = 'InternalError';
  constructor(options: AppErrorOptions = {}) {
    super('internal_error', 'Internal error', options);
  }
}

/**
 * Google rejected a grant (auth code or refresh token): expired, redeemed, revoked, for
 * another client, or refused by a Workspace policy. `googleError` and `googleErrorSubtype`
 * keep Google's codes (`invalid_grant` / `invalid_rapt`, `admin_policy_enforced`) so the
 * cause can be classified; `reason` is Google's description.
 */
export class InvalidGrantError extends AppError {
  override readonly name = 'InvalidGrantError';
  constructor(
    message = 'Google rejected the authorization grant.',
    readonly reason?: string,
    google: { error?: string; subtype?: string } = {},
  ) {
    super('invalid_grant', message, {
      googleError: google.error ?? 'invalid_grant',
      ...(google.subtype !== undefined ? { googleErrorSubtype: google.subtype } : {}),
    });
  }
}

/** An ID token failed verification (401 `invalid_id_token`). */
export class InvalidIdTokenError extends AppError {
  override readonly name = 'InvalidIdTokenError';
  constructor(message: string) {
    super('invalid_id_token', message);
  }
}

/** A security event token failed verification (400 `invalid_token`; nothing is changed). */
export class InvalidSecurityEventError extends AppError {
  override readonly name = 'InvalidSecurityEventError';
  constructor(message: string) {
    super('invalid_token', message);
  }
}

/** Google answered something we do not expect (e.g. `invalid_client`): our configuration, not the caller. */
export class UpstreamError extends AppError {
  override readonly name = 'UpstreamError';
  constructor(message: string, options: AppErrorOptions = {}) {
    super('upstream_error', message, options);
  }
}

/** Google or AWS is unavailable or throttling: worth retrying later. */
export class UpstreamUnavailableError extends AppError {
  override readonly name = 'UpstreamUnavailableError';
  constructor(message: string, options: AppErrorOptions = {}) {
    super('upstream_unavailable', message, { retryAfterSeconds: 5, ...options });
  }
}

/** The token function: the user never connected, or took access back (`reason` then says so). */
export class NotConnectedError extends AppError {
  override readonly name = 'NotConnectedError';
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super('not_connected', message);
  }

  override toJSON(): { error: ErrorCode; message: string; reason?: string } {
    return { ...super.toJSON(), ...(this.reason ? { reason: this.reason } : {}) };
  }
}

/** The token function: the stored grant is gone or unusable; the user must sign in again (`reason` says why). */
export class NeedsReconnectError extends AppError {
  override readonly name = 'NeedsReconnectError';
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super('needs_reconnect', message);
  }

  override toJSON(): { error: ErrorCode; message: string; reason: string } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

/** The token function: a scope was asked for that the user did not grant. */
export class ScopeNotGrantedError extends AppError {
  override readonly name = 'ScopeNotGrantedError';
  constructor(readonly missingScopes: readonly string[]) {
    super('scope_not_granted', `The user did not grant: ${missingScopes.join(' ')}`);
  }
}

/** Configuration is missing or malformed; names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
