/**
 * A small in-process EventBridge for the local stack and the tests: it speaks what the
 * installed `@aws-sdk/client-eventbridge` sends — AWS JSON 1.1 (`POST /`,
 * `X-Amz-Target: AWSEvents.PutEvents`) — so the real client reaches it through
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`, and records every event it accepts. No rules, no targets:
 * tests and `npm start` read what was published (Drive Changes and Connection Status Changed
 * alike). `GET /emulator/events` lists them for
 * tools in other processes (`npm run demo`). Listens on 127.0.0.1 only; no signatures checked.
 *
 * Faults, for at-least-once tests: the next entries can be refused the way EventBridge
 * refuses them (HTTP 200, `FailedEntryCount`, an `ErrorCode` per entry), or the next calls
 * can fail outright (HTTP 500), or be recorded and then answered 500 (the caller cannot
 * know they were published: its retry publishes them again).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseJsonObject, readLimitedBody } from '../aws/json-protocol';
import { listenOnLoopback } from '../aws/local-service';

/** One accepted event, as a rule target would receive it (`detail` parsed). */
export interface RecordedEvent {
  id: string;
  eventBusName: string;
  source: string;
  detailType: string;
  detail: unknown;
  time: string;
}

export type EventBridgeFault =
  /** The next `count` entries come back with `ErrorCode: InternalFailure` (HTTP 200). */
  | { kind: 'refuse-entries'; count: number }
  /** The next `count` PutEvents calls answer HTTP 500 without recording anything. */
  | { kind: 'fail-calls'; count: number }
  /** The next `count` PutEvents calls record their events, then answer HTTP 500. */
  | { kind: 'record-then-fail'; count: number };

export interface EventBridgeEmulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Called for every event taken (the dev server prints a line). */
  onEvent?: (event: RecordedEvent) => void;
}

export interface EventBridgeEmulator {
  /** The value for `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  url: string;
  /** Every accepted event, in order (optionally only one `DetailType`). */
  events(detailType?: string): RecordedEvent[];
  clearEvents(): void;
  /** The next `count` entries come back failed (`InternalFailure`): `injectFault({ kind: 'refuse-entries' })`. */
  failNextEntries(count: number): void;
  /** Called for each accepted event (`npm start` prints a line). */
  onEvent(listener: (event: RecordedEvent) => void): void;
  injectFault(fault: EventBridgeFault): void;
  clearFaults(): void;
  /** PutEvents calls received (also the failed ones). */
  putEventsCalls(): number;
  close(): Promise<void>;
}

const TARGET = 'AWSEvents.PutEvents';
const MAX_REQUEST_BYTES = 1024 * 1024;
const MAX_ENTRY_BYTES = 256 * 1024;

export async function startEventBridgeEmulator(options: EventBridgeEmulatorOptions = {}): Promise<EventBridgeEmulator> {
  const recorded: RecordedEvent[] = [];
  const listeners: ((event: RecordedEvent) => void)[] = options.onEvent ? [options.onEvent] : [];
  const faults = { refuseEntries: 0, failCalls: 0, recordThenFail: 0 };
  let calls = 0;

  const putEvents = (input: Record<string, unknown>): { status: number; body: object } => {
    calls += 1;
    if (faults.failCalls > 0) {
      faults.failCalls -= 1;
      return { status: 500, body: { __type: 'InternalException', message: 'Injected fault' } };
    }
    const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : undefined;
    if (!entries?.length || entries.length > 10) {
      return { status: 400, body: { __type: 'ValidationException', message: 'Entries must hold 1 to 10 entries.' } };
    }
    let failed = 0;
    const results = entries.map((entry) => {
      if (faults.refuseEntries > 0) {
        faults.refuseEntries -= 1;
        failed += 1;
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'Injected fault' };
      }
      const problem = invalidEntry(entry);
      if (problem) {
        failed += 1;
        return { ErrorCode: 'MalformedDetail', ErrorMessage: problem };
      }
      const event: RecordedEvent = {
        id: randomUUID(),
        eventBusName: busName(entry.EventBusName),
        source: String(entry.Source),
        detailType: String(entry.DetailType),
        detail: JSON.parse(String(entry.Detail)) as unknown,
        time: new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : Date.now()).toISOString(),
      };
      recorded.push(event);
      for (const listener of listeners) listener(event);
      return { EventId: event.id };
    });
    if (faults.recordThenFail > 0) {
      faults.recordThenFail -= 1;
      return { status: 500, body: { __type: 'InternalException', message: 'Injected fault after recording' } };
    }
    return { status: 200, body: { FailedEntryCount: failed, Entries: results } };
  };

  const server = createServer((request, response) => {
    serve(request, response, putEvents, recorded).catch(() => response.destroy());
  });
  const service = await listenOnLoopback(server, options.port);
  return {
    url: service.url,
    events: (detailType) => recorded.filter((event) => detailType === undefined || event.detailType === detailType),
    clearEvents: () => {
      recorded.length = 0;
    },
    failNextEntries: (count) => {
      faults.refuseEntries += count;
    },
    onEvent: (listener) => listeners.push(listener),
    injectFault: (fault) => {
      if (!Number.isInteger(fault.count) || fault.count < 1) throw new RangeError('count must be a positive integer');
      if (fault.kind === 'refuse-entries') faults.refuseEntries += fault.count;
      else if (fault.kind === 'fail-calls') faults.failCalls += fault.count;
      else faults.recordThenFail += fault.count;
    },
    clearFaults: () => {
      Object.assign(faults, { refuseEntries: 0, failCalls: 0, recordThenFail: 0 });
    },
    putEventsCalls: () => calls,
    close: () => service.close(),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  putEvents: (input: Record<string, unknown>) => { status: number; body: object },
  recorded: RecordedEvent[],
): Promise<void> {
  if (request.method === 'GET' && request.url?.split('?')[0] === '/emulator/events') {
    return send(response, 200, recorded, 'application/json');
  }
  const body = await readLimitedBody(request, MAX_REQUEST_BYTES);
  if (request.method !== 'POST' || request.headers['x-amz-target'] !== TARGET) {
    return send(response, 400, { __type: 'UnknownOperationException', message: 'Only PutEvents is emulated.' });
  }
  const input = body && parseJsonObject(body);
  if (!input) return send(response, 400, { __type: 'SerializationException', message: 'Expected a JSON object.' });
  const { status, body: answer } = putEvents(input);
  send(response, status, answer);
}

function invalidEntry(entry: Record<string, unknown>): string | undefined {
  if (typeof entry.Source !== 'string' || !entry.Source) return 'Source is required.';
  if (typeof entry.DetailType !== 'string' || !entry.DetailType) return 'DetailType is required.';
  if (typeof entry.Detail !== 'string' || Buffer.byteLength(entry.Detail) > MAX_ENTRY_BYTES)
    return 'Detail is invalid.';
  try {
    const detail: unknown = JSON.parse(entry.Detail);
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return 'Detail must be a JSON object.';
  } catch {
    return 'Detail is not valid JSON.';
  }
  return undefined;
}

/** A bus ARN or name as EventBridge names it; absent is `default`. */
function busName(value: unknown): string {
  if (typeof value !== 'string' || !value) return 'default';
  return value.includes(':event-bus/') ? value.slice(value.indexOf(':event-bus/') + ':event-bus/'.length) : value;
}

function send(response: ServerResponse, status: number, body: object, type = 'application/x-amz-json-1.1'): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(text);
}
