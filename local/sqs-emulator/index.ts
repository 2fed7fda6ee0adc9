/**
 * A small in-process SQS for the local stack and the integration tests. It speaks the wire
 * protocol of the installed `@aws-sdk/client-sqs` v3 — AWS JSON 1.0 (`POST /`,
 * `X-Amz-Target: AmazonSQS.<Operation>`) with query-compatible error codes — so the real
 * client reaches it through `AWS_ENDPOINT_URL_SQS`. Queue URLs point back at this server,
 * which is what the SDK then calls. Listens on 127.0.0.1 only; signatures are not checked.
 *
 * Operations: CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage, SendMessageBatch,
 * ReceiveMessage (with short long-polls), DeleteMessage, DeleteMessageBatch,
 * ChangeMessageVisibility, PurgeQueue.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../aws/local-service';
import { SqsError } from './errors';
import { sqsOperations, type Input, type Operation, type OperationState } from './operations';
import { MAX_MESSAGE_BYTES, QueueRegistry } from './queues';
import { parseJsonObject, readLimitedBody } from '../aws/json-protocol';

export interface SqsEmulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Region in queue ARNs; default `AWS_REGION`, else us-east-1. */
  region?: string;
}

/** `url` is the value for `AWS_ENDPOINT_URL_SQS`. */
export interface SqsEmulator {
  url: string;
  /** Fault injection: the next `count` SendMessageBatch entries come back in `Failed` as server errors. */
  failNextSendEntries(count: number): void;
  /** Fault injection: the next `count` SendMessage calls fail with a 500 InternalError (the SDK retries those). */
  failNextSends(count: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'AmazonSQS.';
const JSON_1_0 = 'application/x-amz-json-1.0';
// Room for a full batch plus JSON escaping.
const MAX_REQUEST_BYTES = 4 * MAX_MESSAGE_BYTES;

export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
  let baseUrl = '';
  const state: OperationState = {
    registry: new QueueRegistry(() => baseUrl, options.region ?? process.env.AWS_REGION ?? 'us-east-1'),
    closed: false,
    failingSendEntries: 0,
    failingSends: 0,
  };
  const operations = sqsOperations(state);
  const server = createServer((request, response) => {
    serve(operations, request, response).catch(() => response.destroy());
  });
  const service = await listenOnLoopback(server, options.port);
  baseUrl = service.url;
  return {
    url: service.url,
    failNextSendEntries: (count) => {
      state.failingSendEntries += count;
    },
    failNextSends: (count) => {
      state.failingSends += count;
    },
    clearFaults: () => {
      state.failingSendEntries = 0;
      state.failingSends = 0;
    },
    close: () => {
      state.closed = true;
      return service.close();
    },
  };
}

async function serve(
  operations: Record<string, Operation>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.method !== 'POST') return send(response, 404, { message: 'Not found' });
  const body = await readLimitedBody(request, MAX_REQUEST_BYTES);
  try {
    const operation = operationFor(operations, request.headers['x-amz-target']);
    send(response, 200, await operation(parseInput(body)));
  } catch (error) {
    if (!(error instanceof SqsError)) {
      // An emulator bug: answer as SQS answers its own failures, and make it visible.
      console.error('SQS emulator error', error);
      return send(
        response,
        500,
        { __type: 'com.amazonaws.sqs#InternalError', message: String(error) },
        'InternalError;Receiver',
      );
    }
    // A server fault is a 500 whose sender is AWS, as SQS answers its own outages.
    if (error.type === 'InternalError') {
      return send(
        response,
        500,
        { __type: 'com.amazonaws.sqs#InternalError', message: error.message },
        'InternalError;Receiver',
      );
    }
    send(
      response,
      400,
      { __type: `com.amazonaws.sqs#${error.type}`, message: error.message },
      `${error.queryCode};Sender`,
    );
  }
}

function operationFor(operations: Record<string, Operation>, target: string | string[] | undefined): Operation {
  const name = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
  if (!operation)
    throw new SqsError('UnknownOperationException', `Unknown or unsupported operation ${name || String(target)}.`);
  return operation;
}

function parseInput(body: Buffer | undefined): Input {
  if (body === undefined) throw new SqsError('InvalidParameterValue', 'Request body too large.');
  const input = parseJsonObject(body);
  if (!input) throw new SqsError('SerializationException', 'The request body must be a JSON object.');
  return input;
}

function send(response: ServerResponse, status: number, body: object, queryError?: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': JSON_1_0,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...(queryError ? { 'x-amzn-query-error': queryError } : {}),
  });
  response.end(text);
}
