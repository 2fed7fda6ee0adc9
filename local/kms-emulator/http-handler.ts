/**
 * The AWS JSON 1.1 wire protocol over node:http: `POST /` with `X-Amz-Target:
 * TrentService.<Operation>` and a JSON body; errors as `{"__type", "message"}` with status
 * 400, as KMS answers. Signatures are not verified (the SDK signs with fake credentials).
 *
 * Besides KMS itself: `GET /emulator/counts` (requests by operation) and
 * `DELETE /emulator/counts` (reset), for tests running the emulator out of process.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { KmsError } from './errors';
import type { Input } from './input';
import type { Operation } from './operations';
import type { RequestCounts } from './request-counts';
import type { AwsFaultQueue } from '../aws/fault-queue';

/** Faults the emulator can play, as KMS answers them: throttling, a denied or disabled key, an outage. */
export const KMS_FAULT_KINDS = [
  'ThrottlingException',
  'AccessDeniedException',
  'DisabledException',
  'KMSInternalException',
] as const;
export type KmsFaultKind = (typeof KMS_FAULT_KINDS)[number];
const FAULT_MESSAGES: Record<KmsFaultKind, string> = {
  ThrottlingException: 'Rate exceeded',
  AccessDeniedException: 'User is not authorized to perform this operation (injected)',
  DisabledException: 'The key is disabled (injected)',
  KMSInternalException: 'Internal error (injected)',
};
import { parseJsonObject, readLimitedBody } from '../aws/json-protocol';

const TARGET_PREFIX = 'TrentService.';
const COUNTS_PATH = '/emulator/counts';
const MAX_BODY_BYTES = 1024 * 1024;
const JSON_1_1 = 'application/x-amz-json-1.1';

export function kmsRequestHandler(
  operations: Record<string, Operation>,
  counts: RequestCounts,
  faults?: AwsFaultQueue<KmsFaultKind>,
): RequestListener {
  return (request, response) => {
    serve(request, response, operations, counts, faults).catch(() => response.destroy());
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  operations: Record<string, Operation>,
  counts: RequestCounts,
  faults: AwsFaultQueue<KmsFaultKind> | undefined,
): Promise<void> {
  if (request.url === COUNTS_PATH && request.method === 'GET') return sendJson(response, 200, counts.snapshot());
  if (request.url === COUNTS_PATH && request.method === 'DELETE') {
    counts.reset();
    response.writeHead(204).end();
    return;
  }
  if (request.method !== 'POST') return sendJson(response, 404, { message: 'Not found' });
  const body = await readLimitedBody(request, MAX_BODY_BYTES);
  if (body === undefined) return sendJson(response, 413, { message: 'Request body too large' });
  const target = request.headers['x-amz-target'];
  const operation = typeof target === 'string' ? target.slice(TARGET_PREFIX.length) : '';
  const fault = faults?.take(operation, body.toString('utf8'));
  if (fault) {
    counts.increment(operation);
    const status = fault === 'KMSInternalException' ? 500 : 400;
    return sendJson(response, status, { __type: fault, message: FAULT_MESSAGES[fault] }, JSON_1_1);
  }
  try {
    sendJson(response, 200, dispatch(operations, counts, request.headers['x-amz-target'], body), JSON_1_1);
  } catch (error) {
    if (error instanceof KmsError) return sendJson(response, 400, errorBody(error), JSON_1_1);
    // An emulator bug: answer as KMS answers its own failures, and make it visible.
    console.error('KMS emulator error', error);
    sendJson(response, 500, { __type: 'KMSInternalException', message: String(error) }, JSON_1_1);
  }
}

function dispatch(
  operations: Record<string, Operation>,
  counts: RequestCounts,
  target: string | string[] | undefined,
  body: Buffer,
): object {
  if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) throw unknownOperation();
  const name = target.slice(TARGET_PREFIX.length);
  counts.increment(name);
  const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
  if (!operation) throw unknownOperation();
  return operation(parseInput(body));
}

function parseInput(body: Buffer): Input {
  const input = parseJsonObject(body);
  if (!input) throw new KmsError('SerializationException', 'Start of structure or map found where not expected.');
  return input;
}

function sendJson(response: ServerResponse, status: number, body: object, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(text);
}

// KMS sends no message at all with some errors (InvalidCiphertextException), not an empty one.
const errorBody = (error: KmsError): object =>
  error.message ? { __type: error.type, message: error.message } : { __type: error.type };

const unknownOperation = (): KmsError => new KmsError('UnknownOperationException', '');
