/**
 * The HTTP layer: reads each request, routes it, applies injected faults, answers, and
 * records Google-endpoint requests in the log. Loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorClock } from './clock';
import { faultResponse, type FaultInjector, type FaultKind } from './faults';
import { apiError, notFound, RawBody, ResponseError, type EmulatorRequest, type EmulatorResponse } from './http';
import type { GoogleEndpoint, RequestFacts, RequestLog, RequestLogEntry } from './request-log';
import type { Route, Router } from './router';

type UnansweredEntry = Omit<RequestLogEntry, 'at' | 'status' | 'endpoint'> & { endpoint: GoogleEndpoint };

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const HOST = '127.0.0.1';

export interface ServerDependencies {
  router: Router;
  faults: FaultInjector;
  log: RequestLog;
  clock: EmulatorClock;
}

export class EmulatorServer {
  private readonly server: Server;

  constructor(private readonly deps: ServerDependencies) {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((error: unknown) => {
        // Reading the body fails when the client aborts; answer if anyone is still there.
        if (!res.headersSent) send(res, internalError(error));
      });
    });
  }

  /** Resolves with the bound port (pass 0 for a random one). */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, HOST, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  /** Stops listening and ends every connection, including requests a 'hang' fault holds. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const method = req.method ?? 'GET';
    const match = this.deps.router.match(method, url.pathname);
    const body = await readBody(req);
    if (body === 'tooLarge') {
      return send(res, apiError(413, 'Request body too large.', { reason: 'uploadTooLarge', status: 'OUT_OF_RANGE' }));
    }
    if (match.kind !== 'found') {
      const response =
        match.kind === 'wrongMethod'
          ? apiError(405, `Method ${method} not allowed.`, { reason: 'methodNotAllowed', status: 'UNIMPLEMENTED' })
          : notFound(`The requested URL ${url.pathname} was not found on this server.`);
      this.record({ method, path: url.pathname, endpoint: 'unknown', status: response.status });
      return send(res, response);
    }

    const { route, params } = match;
    const request: EmulatorRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      params,
    };
    if (route.endpoint === 'control' || route.endpoint === 'browser') return send(res, await respond(route, request));

    const facts = describe(route, request);
    const entry: UnansweredEntry = { method, path: url.pathname, endpoint: route.endpoint, ...facts };
    const fault = this.deps.faults.take(route.endpoint, facts.sub);
    if (fault !== undefined) return this.applyFault(fault, entry, res);
    const response = await respond(route, request);
    this.record({ ...entry, status: response.status });
    send(res, response);
  }

  private applyFault(fault: FaultKind, entry: UnansweredEntry, res: ServerResponse): void {
    if (fault === 'hang') return this.record({ ...entry, status: 0, fault }); // answered by close()
    if (fault === 'reset') {
      this.record({ ...entry, status: 0, fault });
      res.socket?.destroy();
      return;
    }
    const response = faultResponse(entry.endpoint, fault);
    this.record({ ...entry, status: response.status, fault });
    send(res, response);
  }

  private record(entry: Omit<RequestLogEntry, 'at'>): void {
    this.deps.log.add({ at: new Date(this.deps.clock.nowMs()).toISOString(), ...entry });
  }
}

async function respond(route: Route, request: EmulatorRequest): Promise<EmulatorResponse> {
  try {
    return await route.handle(request);
  } catch (error) {
    return error instanceof ResponseError ? error.response : internalError(error);
  }
}

/** Facts are best effort: a request too malformed to describe is still handled (and rejected). */
function describe(route: Route, request: EmulatorRequest): RequestFacts {
  try {
    const facts = route.describe?.(request) ?? {};
    return Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== undefined));
  } catch {
    return {};
  }
}

function internalError(error: unknown): EmulatorResponse {
  const message = error instanceof Error ? error.message : String(error);
  return apiError(500, `Emulator error: ${message}`, { reason: 'internalError', status: 'INTERNAL' });
}

function readBody(req: IncomingMessage): Promise<Buffer | 'tooLarge'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? 'tooLarge' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, response: EmulatorResponse): void {
  // Google answers some calls (channels.stop) with 204 and no body at all.
  if (response.status === 204) {
    res.writeHead(204, { ...response.headers }).end();
    return;
  }
  if (response.body instanceof RawBody) {
    res
      .writeHead(response.status, { 'content-type': response.body.contentType, ...response.headers })
      .end(response.body.text);
    return;
  }
  res
    .writeHead(response.status, { 'content-type': 'application/json; charset=UTF-8', ...response.headers })
    .end(JSON.stringify(response.body));
}
