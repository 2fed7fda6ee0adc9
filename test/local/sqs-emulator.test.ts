/**
 * The SQS emulator speaks the wire protocol of the installed @aws-sdk/client-sqs: the same
 * suite, with the real client, runs against the emulator and against moto_server, so what
 * passes here means the same against an SQS we did not write.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  TooManyEntriesInBatchRequest,
  BatchEntryIdsNotDistinct,
} from '@aws-sdk/client-sqs';
import { createHash, randomBytes } from 'node:crypto';
import type { LocalService } from '../../local/aws/local-service';
import { startMoto } from '../../local/aws/moto';
import { backendsOfThisTier } from '../support/backends';
import { startSqsEmulator } from '../../local/sqs-emulator';

interface Target {
  name: string;
  /** Runs in the tools tier (needs moto_server on PATH). */
  moto?: boolean;
  start: () => Promise<LocalService>;
}

const targets: Target[] = [
  { name: 'SQS emulator', start: () => startSqsEmulator() },
  { name: 'moto_server', moto: true, start: () => startMoto() },
];

const unique = (): string => `q-${randomBytes(6).toString('hex')}`;
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

describe.each(backendsOfThisTier(targets))('SQS over the wire: $name', ({ start }) => {
  let service: LocalService;
  let sqs: SQSClient;

  beforeAll(async () => {
    service = await start();
    sqs = new SQSClient({
      endpoint: service.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  }, 30_000);

  afterAll(async () => {
    sqs?.destroy();
    await service?.close();
  });

  const createQueue = async (attributes?: Record<string, string>): Promise<string> =>
    (await sqs.send(new CreateQueueCommand({ QueueName: unique(), Attributes: attributes }))).QueueUrl!;

  const visibleCount = async (queueUrl: string): Promise<number> => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages);
  };

  it('creates a queue idempotently and finds it by name', async () => {
    const name = unique();
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const again = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    expect(again.QueueUrl).toBe(created.QueueUrl);
    expect(found.QueueUrl).toBe(created.QueueUrl);
  });

  it('answers QueueDoesNotExist for an unknown queue', async () => {
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: unique() }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('sends, receives with an MD5 and a receive count, and deletes', async () => {
    const queueUrl = await createQueue();
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"kind":"refresh","users":["ü"]}' }),
    );
    expect(sent.MD5OfMessageBody).toBe(md5('{"kind":"refresh","users":["ü"]}'));
    expect(await visibleCount(queueUrl)).toBe(1);

    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(received.Messages).toHaveLength(1);
    const [message] = received.Messages!;
    expect(message!.MessageId).toBe(sent.MessageId);
    expect(message!.Body).toBe('{"kind":"refresh","users":["ü"]}');
    expect(message!.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(await visibleCount(queueUrl)).toBe(0);

    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle }));
    const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(after.Messages ?? []).toHaveLength(0);
  });

  it('sends a batch of ten and receives at most MaxNumberOfMessages at a time', async () => {
    const queueUrl = await createQueue();
    const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body ${i}` }));
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    expect(out.Successful).toHaveLength(10);
    expect(out.Failed ?? []).toHaveLength(0);
    expect(out.Successful!.find((entry) => entry.Id === 'm3')?.MD5OfMessageBody).toBe(md5('body 3'));

    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 4 }));
    expect(first.Messages).toHaveLength(4);
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: first.Messages!.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    expect(deleted.Successful).toHaveLength(4);
    expect(await visibleCount(queueUrl)).toBe(6);
  });

  it('rejects batches of more than ten entries or with repeated ids', async () => {
    const queueUrl = await createQueue();
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }));
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: eleven }))).rejects.toBeInstanceOf(
      TooManyEntriesInBatchRequest,
    );
    const repeated = [
      { Id: 'same', MessageBody: 'a' },
      { Id: 'same', MessageBody: 'b' },
    ];
    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: repeated })),
    ).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
  });

  it('redelivers a message whose visibility timeout ended, with a new receipt handle and count', async () => {
    const queueUrl = await createQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'again' }));
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 30 }));
    const handle = first.Messages![0]!.ReceiptHandle!;
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))).Messages ?? []).toHaveLength(0);

    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
    const second = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageSystemAttributeNames: ['All'] }),
    );
    expect(second.Messages![0]!.Body).toBe('again');
    expect(second.Messages![0]!.ReceiptHandle).not.toBe(handle);
    expect(second.Messages![0]!.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('waits for a message that arrives during a long poll', async () => {
    const queueUrl = await createQueue();
    const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'late' }));
    const out = await polling;
    expect(out.Messages?.[0]?.Body).toBe('late');
  });

  it('returns empty after WaitTimeSeconds when nothing arrives', async () => {
    const queueUrl = await createQueue();
    const started = Date.now();
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    expect(out.Messages ?? []).toHaveLength(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('rejects a receipt handle it never issued', async () => {
    const queueUrl = await createQueue();
    await expect(
      sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'not-a-handle' })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
  });

  it('purges a queue', async () => {
    const queueUrl = await createQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'gone' }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect(await visibleCount(queueUrl)).toBe(0);
  });
});

describe('SQS emulator fault injection', () => {
  it('fails the requested number of batch entries as server errors', async () => {
    const emulator = await startSqsEmulator();
    const sqs = new SQSClient({
      endpoint: emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
    });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: unique() }));
      emulator.failNextSendEntries(2);
      const entries = Array.from({ length: 3 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body ${i}` }));
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
      expect(out.Failed?.map((entry) => [entry.Id, entry.SenderFault, entry.Code])).toEqual([
        ['m0', false, 'InternalError'],
        ['m1', false, 'InternalError'],
      ]);
      expect(out.Successful?.map((entry) => entry.Id)).toEqual(['m2']);
    } finally {
      sqs.destroy();
      await emulator.close();
    }
  });
});
