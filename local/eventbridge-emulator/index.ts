/**
 * A small in-process EventBridge for the local stack and the tests: `PutEvents` over the
 * wire protocol of `@aws-sdk/client-eventbridge` (AWS JSON 1.1, `X-Amz-Target:
 * AWSEvents.PutEvents`), reached through `AWS_ENDPOINT_URL_EVENTBRIDGE`. It records every
 * event (there are no rules or targets to deliver to) so tests and `npm start` can show
 * them. Listens on 127.0.0.1 only; signatures are not checked.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseJsonObject, readLimitedBody } from '../aws/json-protocol';
import { listenOnLoopback } from '../aws/local-service';

/** PutEvents takes at most 10 entries of 256 KB in all. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 1024 * 1024;
const JSON_1_1 = 'application/x-amz-json-1.1';

export interface RecordedEvent {
  id: string;
  /** `default` when the entry named none. */
  eventBusName: string;
  source: string;
  detailType: string;
  /** The parsed `Detail`. */
  detail: unknown;
  time: string;
}

export interface EventBridgeEmulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Called for every event taken (the dev server prints a line). */
  onEvent?: (event: RecordedEvent) => void;
}

/** `url` is the value for `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
export interface EventBridgeEmulator {
  url: string;
  /** Every event taken so far, oldest first. */
  events(): RecordedEvent[];
  clearEvents(): void;
  /** Fault injection: the next `count` entries come back failed (`InternalFailure`), as PutEvents reports partial failures. */
  failNextEntries(count: number): void;
  close(): Promise<void>;
}

class ValidationError extends Error {}

export async function startEventBridgeEmulator(options: EventBridgeEmulatorOptions = {}): Promise<EventBridgeEmulator> {
  const recorded: RecordedEvent[] = [];
  let failing = 0;

  const putEvents = (input: Record<string, unknown>): object => {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new ValidationError(`Entries must hold 1 to ${MAX_ENTRIES} entries`);
    }
    const results = entries.map((raw: unknown) => {
      const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      if (failing > 0) {
        failing -= 1;
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'Injected failure' };
      }
      const { Source, DetailType, Detail } = entry;
      if (typeof Source !== 'string' || typeof DetailType !== 'string' || typeof Detail !== 'string') {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Source, DetailType and Detail are required' };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(Detail);
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      const event: RecordedEvent = {
        id: randomUUID(),
        eventBusName: typeof entry.EventBusName === 'string' ? entry.EventBusName : 'default',
        source: Source,
        detailType: DetailType,
        detail,
        time: new Date().toISOString(),
      };
      recorded.push(event);
      options.onEvent?.(event);
      return { EventId: event.id };
    });
    return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
  };

  const server = createServer((request, response) => {
    serve(request, response, putEvents).catch(() => response.destroy());
  });
  const service = await listenOnLoopback(server, options.port);
  return {
    url: service.url,
    events: () => recorded.map((event) => ({ ...event })),
    clearEvents: () => {
      recorded.length = 0;
    },
    failNextEntries: (count) => {
      failing += count;
    },
    close: () => service.close(),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  putEvents: (input: Record<string, unknown>) => object,
): Promise<void> {
  const body = await readLimitedBody(request, MAX_REQUEST_BYTES);
  const target = request.headers['x-amz-target'];
  try {
    if (request.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
      return send(response, 400, { __type: 'UnknownOperationException', message: `Unsupported: ${String(target)}` });
    }
    const input = body ? parseJsonObject(body) : undefined;
    if (!input) throw new ValidationError('The request body must be one JSON object');
    send(response, 200, putEvents(input));
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    send(response, 400, { __type: 'ValidationException', message: error.message });
  }
}

function send(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': JSON_1_1,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(text);
}
