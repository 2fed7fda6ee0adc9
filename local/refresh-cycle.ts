/**
 * `npm run refresh`: one whole refresh cycle against the configured endpoints, the way AWS
 * runs it — the dispatch handler fills the queue, then the queue is drained the way Lambda's
 * SQS event source does it (ReceiveMessage, the worker, delete what succeeded, let failures
 * come back) — with a progress bar on stderr and a closing table. The worker is the very
 * object the worker handler wraps: its result also says what happened to each user, which
 * the handler's `batchItemFailures` does not.
 *
 * Environment: exactly what the two functions read. With none of it set, it uses the stack
 * `npm start` runs (see local/stack-env.ts). `runRefreshCycle` is also what the dev server
 * calls every REFRESH_INTERVAL.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { DispatchResult } from '../lib/refresh/dispatch';
import type { BatchResult, RefreshWorker, UserBatchStatus } from '../lib/refresh/worker';
import { loadStackEnv, STACK_ENV_FILE } from './stack-env';

export interface RefreshCycleOptions {
  /** No progress bar and no table (the dev server's periodic runs). */
  quiet?: boolean;
  /** Where progress and the table go (default stderr). */
  output?: NodeJS.WriteStream;
}

export interface RefreshCycleSummary {
  dispatched: DispatchResult;
  refreshed: number;
  revoked: number;
  failed: number;
  skipped: number;
  /** Messages that failed MAX_RECEIVES times and stay on the queue for a later cycle. */
  failedMessages: number;
  /** Unreadable messages the worker dropped. */
  droppedMessages: number;
  elapsedMs: number;
  /** KMS requests during the cycle, from the KMS emulator; 'n/a' when that is not what KMS is. */
  kmsRequests: number | 'n/a';
}

/** Deliveries of one message within a cycle before it is left for the next (as a redrive policy would). */
const MAX_RECEIVES = 3;
/** Like several Lambda workers polling the queue at once. */
const POLLERS = 4;
const VISIBILITY_TIMEOUT_S = 120;

export async function runRefreshCycle(options: RefreshCycleOptions = {}): Promise<RefreshCycleSummary> {
  const started = Date.now();
  const output = options.output ?? process.stderr;
  // The functions read their configuration at load: import them only now.
  const { handler: dispatch } = await import('../functions/refresh-dispatch');
  const { refreshWorkerFunction } = await import('../lib/runtime/refresh-worker');
  const { dispatchConfig } = await import('../lib/refresh/config');
  const { sqsClient } = await import('../lib/aws/clients/sqs');
  refreshWorkerFunction.prepare();
  const worker = await refreshWorkerFunction.service();
  const kmsBefore = await kmsRequestCount();

  const dispatched = await dispatch({ time: new Date().toISOString() });
  const tally = new CycleTally(dispatched.users);
  const progress = options.quiet ? undefined : new ProgressBar(output);
  progress?.render(tally);
  const failedMessages = await drainQueue(sqsClient(), dispatchConfig().queueUrl, worker, (result) => {
    tally.add(result);
    progress?.render(tally);
  });
  progress?.done();

  const kmsAfter = kmsBefore === 'n/a' ? 'n/a' : await kmsRequestCount();
  const summary: RefreshCycleSummary = {
    dispatched,
    ...tally.counts(),
    failedMessages,
    droppedMessages: tally.dropped,
    elapsedMs: Date.now() - started,
    kmsRequests: kmsBefore === 'n/a' || kmsAfter === 'n/a' ? 'n/a' : kmsAfter - kmsBefore,
  };
  if (!options.quiet) output.write(`${summaryTable(summary, tally.usersDispatched)}\n`);
  return summary;
}

/**
 * The early runs Drive push queued (messages with `trigger: drive-push`), handed to the worker
 * as Lambda would; any other message taken is released at once for the cycle that owns it
 * (`npm run refresh` in another process). Resolves with each user the worker processed.
 */
export async function runEarlyRuns(): Promise<{ userId: string; status: UserBatchStatus }[]> {
  const { refreshWorkerFunction } = await import('../lib/runtime/refresh-worker');
  const { dispatchConfig } = await import('../lib/refresh/config');
  const { sqsClient } = await import('../lib/aws/clients/sqs');
  const { EARLY_RUN_TRIGGER } = await import('../lib/aws/sqs-queues');
  refreshWorkerFunction.prepare();
  const worker = await refreshWorkerFunction.service();
  const sqs = sqsClient();
  const queueUrl = dispatchConfig().queueUrl;
  const users: { userId: string; status: UserBatchStatus }[] = [];
  for (;;) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: VISIBILITY_TIMEOUT_S,
      }),
    );
    const messages = received.Messages ?? [];
    if (!messages.length) return users;
    const isEarlyRun = (message: Message) =>
      (JSON.parse(message.Body ?? '{}') as { trigger?: unknown }).trigger === EARLY_RUN_TRIGGER;
    const early = messages.filter(isEarlyRun);
    await Promise.all(
      messages
        .filter((message) => !isEarlyRun(message))
        .map((message) =>
          sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: queueUrl,
              ReceiptHandle: message.ReceiptHandle!,
              VisibilityTimeout: 0,
            }),
          ),
        ),
    );
    if (!early.length) return users;
    const result = await worker.processBatch(toLambdaRecords(early, queueUrl));
    users.push(...result.users);
    const failedIds = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
    const succeeded = early.filter((message) => !failedIds.has(message.MessageId!));
    if (succeeded.length) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: succeeded.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
  }
}

/**
 * Drains the queue the way Lambda's SQS event source does: batches of ten to the worker,
 * successes deleted, failures visible again after a short wait until MAX_RECEIVES, then left
 * for a later cycle. Resolves with the number of messages left that way.
 */
async function drainQueue(
  sqs: SQSClient,
  queueUrl: string,
  worker: RefreshWorker,
  onBatch: (result: BatchResult) => void,
): Promise<number> {
  let busy = 0;
  let exhausted = 0;
  const awaitingRetry = new Set<string>();
  const poll = async (): Promise<void> => {
    for (;;) {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: VISIBILITY_TIMEOUT_S,
          WaitTimeSeconds: awaitingRetry.size ? 1 : 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const messages = received.Messages ?? [];
      if (!messages.length) {
        // Another poller's batch may still queue more (a scan message continuing its segment).
        if (busy === 0 && awaitingRetry.size === 0) return;
        await new Promise((done) => setTimeout(done, 50));
        continue;
      }
      busy += 1;
      try {
        messages.forEach((message) => awaitingRetry.delete(message.MessageId!));
        const result = await worker.processBatch(toLambdaRecords(messages, queueUrl));
        onBatch(result);
        const failedIds = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
        const succeeded = messages.filter((message) => !failedIds.has(message.MessageId!));
        if (succeeded.length) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: succeeded.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle! })),
            }),
          );
        }
        for (const message of messages.filter((m) => failedIds.has(m.MessageId!))) {
          const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
          // Exhausted: leave it invisible; it comes back in a later cycle (SQS would move it to the DLQ).
          if (receives >= MAX_RECEIVES) {
            exhausted += 1;
            continue;
          }
          awaitingRetry.add(message.MessageId!);
          await sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: queueUrl,
              ReceiptHandle: message.ReceiptHandle!,
              VisibilityTimeout: receives,
            }),
          );
        }
      } finally {
        busy -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: POLLERS }, poll));
  return exhausted;
}

// A user may come back in a redelivered message: the outcome that counts is the best one.
const STATUS_RANK: Record<UserBatchStatus, number> = { skipped: 0, deferred: 1, failed: 2, revoked: 3, refreshed: 3 };

/** Each user's outcome over the whole cycle, so a redelivery does not count a user twice. */
class CycleTally {
  private readonly users = new Map<string, UserBatchStatus>();
  private readonly byStatus: Record<UserBatchStatus, number> = {
    refreshed: 0,
    revoked: 0,
    failed: 0,
    skipped: 0,
    deferred: 0,
  };
  dropped = 0;

  /** @param usersDispatched the dispatcher's users; scan messages add theirs. */
  constructor(public usersDispatched: number) {}

  get usersDone(): number {
    return this.users.size;
  }

  add(result: BatchResult): void {
    this.usersDispatched += result.summary.dispatched;
    this.dropped += result.summary.dropped;
    for (const { userId, status } of result.users) {
      const previous = this.users.get(userId);
      if (previous !== undefined && STATUS_RANK[status] <= STATUS_RANK[previous]) continue;
      if (previous !== undefined) this.byStatus[previous] -= 1;
      this.byStatus[status] += 1;
      this.users.set(userId, status);
    }
  }

  /** Users never started before a deadline count as failed: they were not refreshed. */
  counts(): { refreshed: number; revoked: number; failed: number; skipped: number } {
    const { refreshed, revoked, failed, skipped, deferred } = this.byStatus;
    return { refreshed, revoked, failed: failed + deferred, skipped };
  }
}

/** SQS messages as Lambda's SQS event source hands them to a function. */
export function toLambdaRecords(messages: readonly Message[], queueUrl: string): SQSRecord[] {
  const [, account = '000000000000', name = 'queue'] = new URL(queueUrl).pathname.split('/');
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return messages.map((message) => ({
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: message.Attributes?.SenderId ?? account,
      ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${region}:${account}:${name}`,
    awsRegion: region,
  }));
}

/** Total KMS requests so far, from the KMS emulator's counts; 'n/a' when KMS is anything else. */
async function kmsRequestCount(): Promise<number | 'n/a'> {
  const endpoint = process.env.AWS_ENDPOINT_URL_KMS;
  if (!endpoint) return 'n/a';
  try {
    const response = await fetch(new URL('/emulator/counts', endpoint), { signal: AbortSignal.timeout(2_000) });
    if (!response.ok || !response.headers.get('content-type')?.startsWith('application/json')) return 'n/a';
    const counts = (await response.json()) as Record<string, number>;
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  } catch {
    return 'n/a';
  }
}

class ProgressBar {
  private readonly width = 30;
  private readonly enabled: boolean;

  constructor(private readonly output: NodeJS.WriteStream) {
    this.enabled = Boolean(output.isTTY);
  }

  render(tally: CycleTally): void {
    if (!this.enabled) return;
    const { usersDone: done, usersDispatched: users } = tally;
    const { refreshed, revoked, failed, skipped } = tally.counts();
    const filled = users ? Math.min(this.width, Math.round((done / users) * this.width)) : this.width;
    const bar = `${'█'.repeat(filled)}${'░'.repeat(this.width - filled)}`;
    this.output.write(
      `\r${bar} ${done}/${users} users  refreshed ${refreshed}  revoked ${revoked}  failed ${failed}  skipped ${skipped} `,
    );
  }

  done(): void {
    if (this.enabled) this.output.write('\n');
  }
}

function summaryTable(summary: RefreshCycleSummary, users: number): string {
  const rows: [string, string][] = [
    ['users dispatched', String(users)],
    ['refreshed', String(summary.refreshed)],
    ['revoked', String(summary.revoked)],
    ['failed', String(summary.failed)],
    ['skipped', String(summary.skipped)],
    ['messages left on the queue', String(summary.failedMessages)],
    ['elapsed', `${(summary.elapsedMs / 1000).toFixed(1)} s`],
    ['KMS requests', String(summary.kmsRequests)],
  ];
  if (summary.droppedMessages) rows.splice(6, 0, ['unreadable messages dropped', String(summary.droppedMessages)]);
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  const line = `+${'-'.repeat(labelWidth + 2)}+${'-'.repeat(valueWidth + 2)}+`;
  return [
    line,
    ...rows.map(([label, value]) => `| ${label.padEnd(labelWidth)} | ${value.padStart(valueWidth)} |`),
    line,
  ].join('\n');
}

async function main(): Promise<void> {
  // With no TABLE_NAME set, talk to the stack `npm start` runs (it writes its environment down).
  if (!process.env.TABLE_NAME) {
    if (!loadStackEnv()) {
      throw new Error(
        `No TABLE_NAME set and no running local stack (${STACK_ENV_FILE}). Start one with \`npm start\`, ` +
          'or set TABLE_NAME, KMS_KEY_ID, REFRESH_QUEUE_URL and the Google variables as the functions read them.',
      );
    }
    process.stderr.write(
      `Using the npm start stack (table ${process.env.TABLE_NAME}, queue ${process.env.REFRESH_QUEUE_URL})\n`,
    );
  }
  const summary = await runRefreshCycle();
  process.exitCode = summary.failedMessages ? 1 : 0;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
