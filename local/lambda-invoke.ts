/**
 * A local stand-in for Lambda's `Invoke` API (REST: `POST /2015-03-31/functions/<name>/invocations`),
 * so the real `@aws-sdk/client-lambda` reaches the local functions over HTTP through
 * `AWS_ENDPOINT_URL_LAMBDA`. What it plays of Lambda: the function named by name, partial or
 * full ARN (with an optional qualifier); `RequestResponse` (the answer as the body, status 200),
 * `Event` (202, run in the background) and `DryRun` (204); a thrown handler error as 200 with
 * `X-Amz-Function-Error: Unhandled` and `{ errorType, errorMessage }` (no stack); an unknown
 * function as 404 `ResourceNotFoundException`; payloads over 6 MB as 413. No signature check.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readLimitedBody } from './aws/json-protocol';
import { listenOnLoopback, type LocalService } from './aws/local-service';

export type InvokeHandler = (
  event: unknown,
  context: { awsRequestId: string; functionName: string },
) => Promise<unknown>;

/** Handlers by function name (`google-offline-access-token`, ...). */
export type LocalFunctions = Record<string, InvokeHandler>;

const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export async function startLambdaInvoke(
  functions: LocalFunctions,
  options: { port?: number } = {},
): Promise<LocalService> {
  const server = createServer((request, response) => {
    void handle(functions, request, response);
  });
  return listenOnLoopback(server, options.port ?? 0);
}

/** `my-fn`, `my-fn:live`, `123:function:my-fn`, `arn:aws:lambda:r:123:function:my-fn[:qualifier]` → `my-fn`. */
export function functionNameOf(identifier: string): string {
  const parts = decodeURIComponent(identifier).split(':');
  const at = parts.indexOf('function');
  return at >= 0 ? (parts[at + 1] ?? '') : (parts[0] ?? '');
}

async function handle(functions: LocalFunctions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const match = INVOKE_PATH.exec(url.pathname);
  if (request.method !== 'POST' || !match) {
    return awsError(response, 404, 'UnknownOperationException', 'Only Invoke is served here');
  }
  const name = functionNameOf(match[1] ?? '');
  const fn = functions[name];
  const body = await readLimitedBody(request, MAX_PAYLOAD_BYTES);
  if (!body) return awsError(response, 413, 'RequestTooLargeException', 'Request must be smaller than 6291456 bytes');
  if (!fn) return awsError(response, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
  let event: unknown;
  try {
    event = body.length ? JSON.parse(body.toString('utf8')) : {};
  } catch {
    return awsError(response, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
  }
  const invocationType = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  const requestId = randomUUID();
  const context = { awsRequestId: requestId, functionName: name };
  if (invocationType === 'DryRun') return send(response, 204, '', { 'x-amzn-requestid': requestId });
  if (invocationType === 'Event') {
    void fn(event, context).catch(() => undefined);
    return send(response, 202, '', { 'x-amzn-requestid': requestId });
  }
  const headers = { 'x-amzn-requestid': requestId, 'x-amz-executed-version': '$LATEST' };
  try {
    const result = await fn(event, context);
    return send(response, 200, result === undefined ? 'null' : JSON.stringify(result), headers);
  } catch (error) {
    const errorType = error instanceof Error ? error.name : 'Error';
    const errorMessage = error instanceof Error ? error.message : String(error);
    return send(response, 200, JSON.stringify({ errorType, errorMessage }), {
      ...headers,
      'x-amz-function-error': 'Unhandled',
    });
  }
}

function awsError(response: ServerResponse, status: number, type: string, message: string): void {
  send(response, status, JSON.stringify({ Type: 'User', message }), { 'x-amzn-errortype': type });
}

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  response.end(body);
}
