/**
 * The Lambda functions the stack knows, keyed by their folder under `functions/`.
 * The construct id is the folder name in PascalCase, so operators and tests find
 * `Exchange`, `RefreshWorker`, ... in the template.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';

export interface FunctionSpec {
  /** Construct id. */
  readonly id: string;
  /** Folder under `functions/` holding `index.ts`. */
  readonly folder: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
}

export const FUNCTION_SPECS = {
  exchange: {
    id: 'Exchange',
    folder: 'exchange',
    description: 'POST /authcode: redeems a server auth code and stores the encrypted refresh token',
    // Sign-in latency is user-facing: more memory is more CPU for the cold start.
    memorySize: 1024,
    // Below the HTTP API's 30 s integration limit, above Google's slowest token answers.
    timeout: Duration.seconds(20),
  },
  disconnect: {
    id: 'Disconnect',
    folder: 'disconnect',
    description: 'POST /disconnect: revokes the user grant at Google and destroys the stored token',
    memorySize: 512,
    timeout: Duration.seconds(20),
  },
  risc: {
    id: 'Risc',
    folder: 'risc',
    description: 'POST /risc: receives Google Cross-Account Protection security events',
    memorySize: 512,
    timeout: Duration.seconds(20),
  },
  refreshDispatch: {
    id: 'RefreshDispatch',
    folder: 'refresh-dispatch',
    description: 'Scheduled: enumerates active users into the refresh queue',
    memorySize: 512,
    // Scans page by page with checkpoints; ten minutes leaves room below Lambda's fifteen.
    timeout: Duration.minutes(10),
  },
  refreshWorker: {
    id: 'RefreshWorker',
    folder: 'refresh-worker',
    description: 'SQS: refreshes each user access token and runs the offline jobs',
    memorySize: 1024,
    // A batch of users at a bounded Google QPS, with backoff; the queue's visibility is six times this.
    timeout: Duration.minutes(3),
  },
  connectionEvents: {
    id: 'ConnectionEvents',
    folder: 'connection-events',
    description: 'DynamoDB stream: publishes Connection Status Changed events to EventBridge',
    memorySize: 256,
    // A batch of up to 100 stream records is at most 10 PutEvents calls.
    timeout: Duration.minutes(1),
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTION_SPECS;

/** The repository root: `infra/..`. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** The handler module of a function, or `undefined` while it has not been written yet. */
export function functionEntry(functionsDir: string, spec: FunctionSpec): string | undefined {
  const entry = path.join(functionsDir, spec.folder, 'index.ts');
  return existsSync(entry) ? entry : undefined;
}
