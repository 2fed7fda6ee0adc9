/** The SQS operations the refresh pipeline and its tools use, over a `QueueRegistry`. */
import { SqsError } from './errors';
import { boundedInt, MAX_MESSAGE_BYTES, type Queue, type QueueRegistry } from './queues';

export type Input = Record<string, unknown>;
export type Operation = (input: Input) => object | Promise<object>;

const MAX_BATCH_ENTRIES = 10;
const LONG_POLL_INTERVAL_MS = 20;

export interface OperationState {
  registry: QueueRegistry;
  /** Set on close: long polls return at once. */
  closed: boolean;
  /** Injected fault: this many upcoming SendMessageBatch entries fail as a server error. */
  failingSendEntries: number;
  /** Injected fault: this many upcoming SendMessage calls fail as a server error. */
  failingSends: number;
}

export function sqsOperations(state: OperationState): Record<string, Operation> {
  const { registry } = state;
  return {
    CreateQueue: (input) => ({
      QueueUrl: registry.create(input.QueueName, input.Attributes as Record<string, string> | undefined).url,
    }),
    GetQueueUrl: (input) => ({ QueueUrl: registry.byName(input.QueueName).url }),
    GetQueueAttributes: (input) => ({
      Attributes: queueAttributes(registry.byUrl(input.QueueUrl), input.AttributeNames),
    }),
    PurgeQueue: (input) => {
      registry.byUrl(input.QueueUrl).purge();
      return {};
    },
    SendMessage: (input) => {
      const queue = registry.byUrl(input.QueueUrl);
      if (state.failingSends > 0) {
        state.failingSends -= 1;
        throw new SqsError('InternalError', 'Internal error (injected).');
      }
      return queue.send(input.MessageBody as string, input.DelaySeconds as number | undefined, Date.now());
    },
    SendMessageBatch: (input) => {
      const queue = registry.byUrl(input.QueueUrl);
      const entries = batchEntries(input.Entries);
      const totalBytes = entries.reduce(
        (sum, entry) => sum + (typeof entry.MessageBody === 'string' ? Buffer.byteLength(entry.MessageBody) : 0),
        0,
      );
      if (totalBytes > MAX_MESSAGE_BYTES) {
        throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes.`);
      }
      return eachEntry(entries, (entry) => {
        if (state.failingSendEntries > 0) {
          state.failingSendEntries -= 1;
          throw new SqsError('InternalError', 'Internal error (injected).');
        }
        return queue.send(entry.MessageBody as string, entry.DelaySeconds as number | undefined, Date.now());
      });
    },
    ReceiveMessage: (input) => receive(state, input),
    DeleteMessage: (input) => {
      registry.byUrl(input.QueueUrl).delete(input.ReceiptHandle as string);
      return {};
    },
    DeleteMessageBatch: (input) => {
      const queue = registry.byUrl(input.QueueUrl);
      return eachEntry(batchEntries(input.Entries), (entry) => {
        queue.delete(entry.ReceiptHandle as string);
        return {};
      });
    },
    ChangeMessageVisibility: (input) => {
      registry
        .byUrl(input.QueueUrl)
        .changeVisibility(input.ReceiptHandle as string, input.VisibilityTimeout, Date.now());
      return {};
    },
  };
}

async function receive(state: OperationState, input: Input): Promise<object> {
  const queue = state.registry.byUrl(input.QueueUrl);
  const max = boundedInt('MaxNumberOfMessages', input.MaxNumberOfMessages, 1, 1, MAX_BATCH_ENTRIES);
  const visibility = boundedInt(
    'VisibilityTimeout',
    input.VisibilityTimeout,
    queue.attributes.VisibilityTimeout,
    0,
    43_200,
  );
  const waitSeconds = boundedInt(
    'WaitTimeSeconds',
    input.WaitTimeSeconds,
    queue.attributes.ReceiveMessageWaitTimeSeconds,
    0,
    20,
  );
  const attributeNames = new Set([
    ...stringList(input.AttributeNames),
    ...stringList(input.MessageSystemAttributeNames),
  ]);
  const deadline = Date.now() + waitSeconds * 1000;
  // Long poll: wait until something is visible or the wait ends (SQS answers empty then).
  while (!queue.hasVisible(Date.now()) && Date.now() < deadline && !state.closed) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(LONG_POLL_INTERVAL_MS, deadline - Date.now())));
  }
  const messages = queue.receive(max, visibility, attributeNames, Date.now());
  return messages.length ? { Messages: messages } : {};
}

function queueAttributes(queue: Queue, names: unknown): Record<string, string> {
  const counts = queue.counts(Date.now());
  const all: Record<string, string> = {
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    VisibilityTimeout: String(queue.attributes.VisibilityTimeout),
    DelaySeconds: String(queue.attributes.DelaySeconds),
    ReceiveMessageWaitTimeSeconds: String(queue.attributes.ReceiveMessageWaitTimeSeconds),
    MaximumMessageSize: String(MAX_MESSAGE_BYTES),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    QueueArn: queue.arn,
  };
  const requested = stringList(names);
  if (requested.includes('All')) return all;
  const picked: Record<string, string> = {};
  for (const name of requested) {
    const value = all[name];
    if (value === undefined) throw new SqsError('InvalidAttributeName', `Unknown or unsupported attribute ${name}.`);
    picked[name] = value;
  }
  return picked;
}

type Entry = Record<string, unknown> & { Id: string };

function batchEntries(entries: unknown): Entry[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}.`,
    );
  }
  const ids = new Set<string>();
  for (const entry of entries as Record<string, unknown>[]) {
    if (typeof entry.Id !== 'string' || !/^[\w-]{1,80}$/.test(entry.Id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores.',
      );
    }
    if (ids.has(entry.Id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${entry.Id} repeated.`);
    ids.add(entry.Id);
  }
  return entries as Entry[];
}

/** Runs each entry on its own: one entry's failure is reported in `Failed`, the rest go on. */
function eachEntry(entries: Entry[], run: (entry: Entry) => object): { Successful: object[]; Failed: object[] } {
  const Successful: object[] = [];
  const Failed: object[] = [];
  for (const entry of entries) {
    try {
      Successful.push({ Id: entry.Id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, SenderFault: error.senderFault, Code: error.type, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
