/** The emulator's request/response model and the two error-body dialects Google speaks. */
import type { IncomingHttpHeaders } from 'node:http';

export interface EmulatorRequest {
  method: string;
  /** The path as sent, without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Decoded `:name` segments of the matched route. */
  params: Record<string, string>;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON, unless it is a `RawBody`. */
  body: unknown;
}

/** A body sent as is (the browser-facing pages and script), with its own content type. */
export class RawBody {
  constructor(
    readonly contentType: string,
    readonly text: string,
  ) {}
}

/** An HTML page or a script, never cached (each carries per-request state). */
export function raw(status: number, contentType: string, text: string, headers: Record<string, string> = {}) {
  return json(status, new RawBody(contentType, text), { 'cache-control': 'no-store', ...headers });
}

/** Thrown anywhere below a route to answer with `response` (bad input, auth failures). */
export class ResponseError extends Error {
  constructor(readonly response: EmulatorResponse) {
    super(`HTTP ${response.status}`);
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return { status, body, headers };
}

/** OAuth endpoints (token, revoke, tokeninfo): `{"error": code, "error_description": text}`. */
export function oauthError(status: number, error: string, description: string): EmulatorResponse {
  return json(status, { error, error_description: description });
}

export interface ApiErrorDetail {
  /** The legacy per-error reason, e.g. `notFound`. */
  reason: string;
  /** The google.rpc status name, e.g. `NOT_FOUND`. */
  status: string;
  /** The request parameter at fault. */
  location?: string;
}

/** googleapis.com APIs (Drive, RISC): `{"error": {code, message, errors: [...], status}}`. */
export function apiError(code: number, message: string, detail: ApiErrorDetail): EmulatorResponse {
  const error = {
    message,
    domain: 'global',
    reason: detail.reason,
    ...(detail.location ? { location: detail.location, locationType: 'parameter' } : {}),
  };
  return json(code, { error: { code, message, errors: [error], status: detail.status } });
}

export function invalidArgument(message: string): EmulatorResponse {
  return apiError(400, message, { reason: 'badRequest', status: 'INVALID_ARGUMENT' });
}

export function notFound(message: string): EmulatorResponse {
  return apiError(404, message, { reason: 'notFound', status: 'NOT_FOUND' });
}

/** Form parameters (what Google's OAuth endpoints take), also accepting a JSON object. */
export function formParams(request: EmulatorRequest): URLSearchParams {
  const type = request.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    const body = jsonBody(request);
    const params = new URLSearchParams();
    if (isRecord(body)) for (const [key, value] of Object.entries(body)) params.set(key, String(value));
    return params;
  }
  return new URLSearchParams(request.body.toString('utf8'));
}

/** The body as JSON (empty body = `{}`); malformed JSON answers 400. */
export function jsonBody(request: EmulatorRequest): unknown {
  if (request.body.length === 0) return {};
  try {
    return JSON.parse(request.body.toString('utf8'));
  } catch {
    throw new ResponseError(invalidArgument('Invalid JSON payload received.'));
  }
}

export function bearerToken(request: EmulatorRequest): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/** decodeURIComponent that leaves malformed escapes as they are instead of throwing. */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
