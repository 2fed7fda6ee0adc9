/**
 * The dispatcher's queue writer against the SQS emulator with the real client: batches of
 * ten, and entries SQS fails on its side sent again, a bounded number of times.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RefreshUsersMessage } from '../../lib/refresh/messages';
import { SqsRefreshQueue } from '../../lib/aws/sqs-queues';
import { QueueSendError } from '../../lib/refresh/queue';
import { startSqsEmulator, type SqsEmulator } from '../../local/sqs-emulator';

let emulator: SqsEmulator;
let sqs: SQSClient;

beforeAll(async () => {
  emulator = await startSqsEmulator();
  sqs = new SQSClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  sqs.destroy();
  await emulator.close();
});

const noWait = () => Promise.resolve();
const messages = (count: number): RefreshUsersMessage[] =>
  Array.from({ length: count }, (_, i) => ({
    kind: 'refresh',
    cycle: '2026-11-28T00:00:00.000Z',
    users: [`user-${i}`],
  }));

async function newQueue(): Promise<string> {
  return (
    await sqs.send(new CreateQueueCommand({ QueueName: `q-${Date.now()}-${Math.random().toString(36).slice(2)}` }))
  ).QueueUrl!;
}

async function receivedUsers(queueUrl: string): Promise<string[]> {
  const users: string[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (!out.Messages?.length) return users.sort();
    users.push(...out.Messages.flatMap((message) => (JSON.parse(message.Body!) as RefreshUsersMessage).users));
  }
}

describe('SqsRefreshQueue', () => {
  it('sends every message, ten to a batch', async () => {
    const queueUrl = await newQueue();
    await new SqsRefreshQueue(sqs, queueUrl, noWait).send(messages(25));
    expect(await receivedUsers(queueUrl)).toEqual(
      messages(25)
        .flatMap((m) => m.users)
        .sort(),
    );
  });

  it('sends again the entries SQS failed on its side, and only those', async () => {
    const queueUrl = await newQueue();
    emulator.failNextSendEntries(4);
    await new SqsRefreshQueue(sqs, queueUrl, noWait).send(messages(12));
    expect(await receivedUsers(queueUrl)).toEqual(
      messages(12)
        .flatMap((m) => m.users)
        .sort(),
    );
  });

  it('gives up after a bounded number of resends', async () => {
    const queueUrl = await newQueue();
    emulator.failNextSendEntries(1_000);
    await expect(new SqsRefreshQueue(sqs, queueUrl, noWait).send(messages(1))).rejects.toBeInstanceOf(QueueSendError);
    emulator.clearFaults();
  });
});
