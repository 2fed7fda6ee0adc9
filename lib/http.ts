/**
 * The HTTP edge: API Gateway HTTP API (payload 2.0) events in, results out. Parsing and
 * the one mapping from errors to responses live here so handlers stay thin.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  CsrfHeaderMissingError,
  InvalidIdTokenError,
  InvalidRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors';
import { toAppError } from './failures';
import { lambdaHandler, type LambdaHandler } from './lambda';
import { describeError, logger } from './log';

export const MAX_BODY_BYTES = 8 * 1024;

export interface HttpRequest {
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
  contentType: string;
}

export type HttpResult = APIGatewayProxyStructuredResultV2;

export function parseHttpEvent(event: APIGatewayProxyEventV2): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const raw = event.body ?? '';
  const body = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return { headers, body, contentType };
}

/** The seed's CSRF defence: browsers cannot add custom headers cross-site without a preflight. */
export function requireRequestedWithHeader(request: HttpRequest): void {
  if (!request.headers['x-requested-with']?.trim()) {
    throw new CsrfHeaderMissingError();
  }
}

/** The `Authorization: Bearer <ID token>` of a request. @throws InvalidIdTokenError (401) when absent. */
export function bearerIdToken(request: HttpRequest): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match?.[1]) throw new InvalidIdTokenError('An Authorization: Bearer <Google ID token> header is required');
  return match[1];
}

/** Reads one named field from a form or JSON body of at most 8 KiB. */
export function readBodyField(request: HttpRequest, field: string): unknown {
  if (request.body.length > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(MAX_BODY_BYTES);
  }
  const text = request.body.toString('utf8');
  if (request.contentType === 'application/x-www-form-urlencoded') {
    return new URLSearchParams(text).get(field) ?? undefined;
  }
  if (request.contentType === 'application/json' || request.contentType.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InvalidRequestError('Request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new InvalidRequestError('Request body must be a JSON object');
    }
    return (parsed as Record<string, unknown>)[field];
  }
  throw new UnsupportedMediaTypeError('Send application/x-www-form-urlencoded or application/json');
}

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** The one place an error becomes an HTTP response: contract codes only, never a stack or secret. */
export function errorResponse(error: unknown): HttpResult {
  const appError = toAppError(error);
  if (appError.status >= 500) logger.error('request failed', { error: describeError(error) });
  else logger.warn('request rejected', { error: describeError(error) });
  const headers: Record<string, string> =
    appError.retryAfterSeconds !== undefined ? { 'retry-after': String(appError.retryAfterSeconds) } : {};
  return jsonResponse(appError.status, appError.toJSON(), headers);
}

/** Wraps a request handler: parse, run, map any failure through `errorResponse`. */
export function httpHandler(
  handle: (request: HttpRequest, event: APIGatewayProxyEventV2) => Promise<HttpResult>,
): LambdaHandler<APIGatewayProxyEventV2, HttpResult> {
  return lambdaHandler(async (event) => {
    // Every log line of this request carries API Gateway's request ID, to join with the access log.
    logger.appendKeys({ requestId: event.requestContext?.requestId });
    try {
      return await handle(parseHttpEvent(event), event);
    } catch (error) {
      return errorResponse(error);
    }
  });
}
