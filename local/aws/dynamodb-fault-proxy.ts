/**
 * A fault-injecting HTTP proxy in front of a local DynamoDB (dynalite, DynamoDB Local, moto):
 * requests pass through untouched unless a fault is armed for their operation, which is then
 * answered as DynamoDB answers it — throttling, a failed condition, a server error — or the
 * connection is reset. Point `AWS_ENDPOINT_URL_DYNAMODB` at `url`. Listens on 127.0.0.1 only.
 */
import { createServer, request as httpRequest } from 'node:http';
import { AwsFaultQueue, type AwsFaultSpec } from './fault-queue';
import { readLimitedBody } from './json-protocol';
import { listenOnLoopback, type LocalService } from './local-service';

export const DYNAMODB_FAULT_KINDS = ['throttle', 'conditional', 'internal', 'reset'] as const;
export type DynamoFaultKind = (typeof DYNAMODB_FAULT_KINDS)[number];

const TARGET_PREFIX = 'DynamoDB_20120810.';
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ANSWERS: Record<Exclude<DynamoFaultKind, 'reset'>, { status: number; type: string; message: string }> = {
  throttle: {
    status: 400,
    type: 'ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
  },
  conditional: { status: 400, type: 'ConditionalCheckFailedException', message: 'The conditional request failed' },
  internal: { status: 500, type: 'InternalServerError', message: 'Internal server error (injected)' },
};

export interface DynamoFaultProxy extends LocalService {
  injectFault(fault: AwsFaultSpec<DynamoFaultKind>): void;
  clearFaults(): void;
  /** Faults answered so far, by `operation:kind`. */
  injectedFaults(): Record<string, number>;
}

export async function startDynamoFaultProxy(
  targetUrl: string,
  options: { port?: number } = {},
): Promise<DynamoFaultProxy> {
  const target = new URL(targetUrl);
  const faults = new AwsFaultQueue<DynamoFaultKind>(DYNAMODB_FAULT_KINDS);
  const server = createServer((request, response) => {
    void (async () => {
      const body = (await readLimitedBody(request, MAX_BODY_BYTES)) ?? Buffer.alloc(0);
      const header = request.headers['x-amz-target'];
      const operation =
        typeof header === 'string' && header.startsWith(TARGET_PREFIX) ? header.slice(TARGET_PREFIX.length) : '';
      const fault = faults.take(operation, body.toString('utf8'));
      if (fault === 'reset') return request.socket.destroy();
      if (fault) {
        const answer = ANSWERS[fault];
        const text = JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`,
          message: answer.message,
        });
        response.writeHead(answer.status, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': String(Buffer.byteLength(text)),
        });
        return response.end(text);
      }
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: { ...request.headers, host: target.host, 'content-length': String(body.length) },
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => response.destroy());
      upstream.end(body);
    })().catch(() => response.destroy());
  });
  const service = await listenOnLoopback(server, options.port);
  return {
    ...service,
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    injectedFaults: () => faults.injectedCounts(),
  };
}
