/**
 * The Lambda functions the stack knows, keyed by their folder under `functions/`.
 * The construct id is the folder name in PascalCase, so operators and tests find
 * `Exchange`, `RefreshWorker`, ... in the template.
 *
 * Adding a function: a spec here, its environment and grants in `stack.ts` (the exact-IAM
 * test in `test/infra/stack.test.ts` lists what it may do). A public one (e.g. `connection`,
 * GET /connection) also goes into `PUBLIC_FUNCTIONS` with `<name>RateLimit`, `<name>BurstLimit`
 * and `<name>Concurrency` in `CONTEXT_DEFAULTS` (tsc insists) and `cdk.json` (a test insists),
 * and gets a route and an `AUTHENTICATED_BY` line in `stack.ts`.
 */
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
    // What a sign-in needs: the token call gives up after 10 s and the certificates fetch
    // after 5 s (lib/google), so a slow Google is answered 503 just before this; a longer
    // timeout only holds reserved concurrency while the user has given up.
    timeout: Duration.seconds(15),
  },
  disconnect: {
    id: 'Disconnect',
    folder: 'disconnect',
    description: 'POST /disconnect: revokes the user grant at Google and destroys the stored token',
    memorySize: 512,
    // Certificates (5 s) and the revoke call (10 s): a revoke that does not answer is queued for retry.
    timeout: Duration.seconds(15),
  },
  connection: {
    id: 'Connection',
    folder: 'connection',
    description: 'GET /connection: the signed-in user offline-access status and reason, never a token',
    memorySize: 512,
    timeout: Duration.seconds(10),
  },
  risc: {
    id: 'Risc',
    folder: 'risc',
    description: 'POST /risc: receives Google Cross-Account Protection security events',
    memorySize: 512,
    // RISC configuration and JWKS (5 s each), then a few table writes; Google redelivers on failure.
    timeout: Duration.seconds(12),
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
    // Paced to its share of the Google allowance, it waits on the network most of the time:
    // 256 MB (a seventh of a vCPU) keeps up with 50 Google requests/s (see README, "Scale and cost").
    memorySize: 256,
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
  driveNotifications: {
    id: 'DriveNotifications',
    folder: 'drive-notifications',
    description: 'POST /drive/notifications: Drive push notifications queue an early run of that user (drivePush only)',
    memorySize: 256,
    // One read, at most one conditional write and one SendMessage: Google wants a quick answer.
    timeout: Duration.seconds(10),
  },
  token: {
    id: 'Token',
    folder: 'token',
    description: 'Direct Invoke (IAM): a valid Google access token for one of the company own jobs',
    memorySize: 512,
    // A refresh at Google, or a wait for another caller's, with a short retry: seconds, not minutes.
    timeout: Duration.seconds(20),
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTION_SPECS;

/** The repository root: `infra/..`. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** The handler module of a function. */
export function functionEntry(functionsDir: string, spec: FunctionSpec): string {
  return path.join(functionsDir, spec.folder, 'index.ts');
}
