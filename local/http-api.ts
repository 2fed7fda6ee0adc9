/**
 * A local stand-in for API Gateway's HTTP API: plain HTTP in, payload format 2.0 events
 * to the Lambda handlers, their results back out — the way API Gateway builds and reads
 * them (lower-cased headers, `rawQueryString` without `?`, `cookies`, base64 for non-text
 * bodies, 10 MB request limit, 413/404/500 answers of its own) — and its CORS: with
 * `corsOrigins` set, preflights are answered by the gateway itself and an allowed `Origin`
 * gets `access-control-allow-origin` on every answer, as `corsPreflight` does in the stack.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { readLimitedBody } from './aws/json-protocol';
import { listenOnLoopback, type LocalService } from './aws/local-service';

export type HttpApiHandler = (event: APIGatewayProxyEventV2, context: never) => Promise<APIGatewayProxyResultV2>;

/** Routes keyed as API Gateway writes them: `POST /authcode`. */
export type Routes = Record<string, HttpApiHandler>;

const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES =
  /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)|[^;]*\+(json|xml|jwt)|application\/jwt)/i;

export interface HttpApi extends LocalService {
  port: number;
}

export interface HttpApiOptions {
  port?: number;
  /** Origins allowed to call the API from a browser (exact match); none: CORS off, as in the stack by default. */
  corsOrigins?: readonly string[];
}

/** What the stack's `corsPreflight` allows (infra/constructs/public-api.ts). */
export const CORS_ALLOW_METHODS = ['GET', 'POST'];
export const CORS_ALLOW_HEADERS = ['content-type', 'x-requested-with', 'authorization'];
const CORS_MAX_AGE_S = 3600;

export async function startHttpApi(routes: Routes, options: HttpApiOptions = {}): Promise<HttpApi> {
  const cors = new Set(options.corsOrigins ?? []);
  const server = createServer((request, response) => {
    const origin = request.headers.origin;
    if (cors.size && origin && cors.has(origin)) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('vary', 'origin');
    }
    if (cors.size && request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      return preflight(cors, request, response);
    }
    void handle(routes, request, response);
  });
  const service = await listenOnLoopback(server, options.port ?? 3000);
  return { ...service, port: Number(new URL(service.url).port) };
}

/** API Gateway answers preflights itself: 204, with the CORS headers only for an allowed origin. */
function preflight(cors: Set<string>, request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  if (request.headers.origin && cors.has(request.headers.origin)) {
    response.setHeader('access-control-allow-methods', CORS_ALLOW_METHODS.join(','));
    response.setHeader('access-control-allow-headers', CORS_ALLOW_HEADERS.join(','));
    response.setHeader('access-control-max-age', String(CORS_MAX_AGE_S));
  }
  response.writeHead(204).end();
}

async function handle(routes: Routes, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const routeKey = `${request.method ?? 'GET'} ${url.pathname}`;
  const route = routes[routeKey];
  const body = await readLimitedBody(request, MAX_REQUEST_BYTES);
  if (!body) return send(response, 413, { message: 'Request Entity Too Large' });
  if (!route) return send(response, 404, { message: 'Not Found' });
  let result: APIGatewayProxyResultV2;
  try {
    result = await route(toEvent(request, url, routeKey, body), {} as never);
  } catch {
    // API Gateway hides a crashed integration behind a generic 500.
    return send(response, 500, { message: 'Internal Server Error' });
  }
  writeResult(response, result);
}

export function toEvent(request: IncomingMessage, url: URL, routeKey: string, body: Buffer): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = (Array.isArray(value) ? value.join('; ') : value).split(/;\s*/).filter(Boolean);
      continue;
    }
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    queryStringParameters[key] = key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
  }
  const isText = TEXT_TYPES.test(headers['content-type'] ?? '');
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: body.length > 0 && !isText,
  };
  if (cookies) event.cookies = cookies;
  if (Object.keys(queryStringParameters).length) event.queryStringParameters = queryStringParameters;
  if (body.length) event.body = isText ? body.toString('utf8') : body.toString('base64');
  return event;
}

/** Interprets a handler's result as API Gateway does, including the bare-string and object shorthands. */
function writeResult(response: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string' || result === undefined || result === null || !('statusCode' in result)) {
    return send(response, 200, result ?? '');
  }
  const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  headers['content-length'] = String(body.length);
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  response.end(text);
}
