/**
 * The local change feed (the table's stream for dynalite) and the EventBridge stand-in,
 * driven by the real AWS SDK clients: stream records in Lambda's shape for real changes only,
 * in order, with Lambda's retry semantics; PutEvents recorded, refused or failed on demand.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { startChangeFeed, type ChangeFeed } from '../../local/aws/change-feed';
import { startDynamoDb } from '../../local/aws/dynamodb';
import type { LocalService } from '../../local/aws/local-service';
import { startEventBridgeEmulator, type EventBridgeEmulator } from '../../local/eventbridge-emulator';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let dynalite: LocalService;
let feed: ChangeFeed;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  dynalite = await startDynamoDb();
  feed = await startChangeFeed({ upstream: dynalite.url });
  dynamo = new DynamoDBClient({ endpoint: feed.url, region: 'us-east-1', credentials });
});

afterAll(async () => {
  dynamo.destroy();
  await feed.close();
  await dynalite.close();
});

async function table(name: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    }),
  );
}

describe('the change feed', () => {
  it('turns each real change into one stream record, in order, in Lambda’s shape', async () => {
    await table('shapes');
    const stream = feed.enableStream('shapes');
    const seen: DynamoDBRecord[] = [];
    const consumer = stream.attach((event) => {
      seen.push(...event.Records);
      return Promise.resolve({ batchItemFailures: [] });
    });
    const key = { pk: { S: 'USER#1' } };
    await dynamo.send(
      new PutItemCommand({ TableName: 'shapes', Item: { ...key, n: { N: '1' }, b: { B: Buffer.from('x') } } }),
    );
    await dynamo.send(
      new UpdateItemCommand({
        TableName: 'shapes',
        Key: key,
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': { N: '2' } },
      }),
    );
    // Writes that change nothing, or fail their condition, make no record.
    await dynamo.send(
      new UpdateItemCommand({
        TableName: 'shapes',
        Key: key,
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': { N: '2' } },
      }),
    );
    await expect(
      dynamo.send(
        new PutItemCommand({ TableName: 'shapes', Item: key, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    ).rejects.toThrow(/conditional/i);
    await dynamo.send(new DeleteItemCommand({ TableName: 'shapes', Key: key }));
    await consumer.drain();

    expect(seen.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    const sequence = seen.map((r) => r.dynamodb!.SequenceNumber!);
    expect([...sequence].sort()).toEqual(sequence);
    expect(seen[0]).toMatchObject({
      eventSource: 'aws:dynamodb',
      eventVersion: '1.1',
      eventSourceARN: expect.stringMatching(/^arn:aws:dynamodb:[\w-]+:\d{12}:table\/shapes\/stream\//),
      dynamodb: {
        Keys: key,
        NewImage: { n: { N: '1' }, b: { B: Buffer.from('x').toString('base64') } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(seen[1]?.dynamodb).toMatchObject({ OldImage: { n: { N: '1' } }, NewImage: { n: { N: '2' } } });
    expect(seen[2]?.dynamodb?.NewImage).toBeUndefined();
    await consumer.stop();
  });

  it('retries from the first reported failure, bisects a throwing batch, and gives up into the on-failure list', async () => {
    await table('retries');
    const stream = feed.enableStream('retries');
    for (const id of ['a', 'b', 'c', 'd'])
      await dynamo.send(new PutItemCommand({ TableName: 'retries', Item: { pk: { S: id } } }));
    const batches: string[][] = [];
    let failB = 1;
    const onFailure: DynamoDBRecord[] = [];
    const ids = (event: DynamoDBStreamEvent) => event.Records.map((r) => r.dynamodb!.Keys!.pk!.S!);
    const consumer = stream.attach(
      (event) => {
        batches.push(ids(event));
        const b = event.Records.find((r) => r.dynamodb!.Keys!.pk!.S === 'b');
        if (b && failB-- > 0)
          return Promise.resolve({ batchItemFailures: [{ itemIdentifier: b.dynamodb!.SequenceNumber! }] });
        if (ids(event).includes('d')) return Promise.reject(new Error('poison'));
        return Promise.resolve({ batchItemFailures: [] });
      },
      { retryDelayMs: 1, maxRetries: 2, onFailure: (records) => onFailure.push(...records) },
    );
    await consumer.drain();

    expect(batches[0]).toEqual(['a', 'b', 'c', 'd']);
    expect(batches[1]).toEqual(['b', 'c', 'd']); // a was checkpointed
    expect(batches.slice(2).every((batch) => batch.length < 3)).toBe(true); // halved after throwing
    expect(onFailure.map((r) => r.dynamodb!.Keys!.pk!.S)).toEqual(['d']);
    expect(consumer.failures()).toHaveLength(1);
    expect(stream.pending()).toBe(0);
    await consumer.stop();
  });

  it('passes through tables whose stream is off', async () => {
    await table('plain');
    await dynamo.send(new PutItemCommand({ TableName: 'plain', Item: { pk: { S: 'x' } } }));
    expect(feed.enableStream('plain').pending()).toBe(0);
  });
});

describe('the EventBridge stand-in', () => {
  let bridge: EventBridgeEmulator;
  let client: EventBridgeClient;
  beforeAll(async () => {
    bridge = await startEventBridgeEmulator();
    client = new EventBridgeClient({ endpoint: bridge.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await bridge.close();
  });
  const entry = (n: number) => ({
    Source: 'test',
    DetailType: 'T',
    Detail: JSON.stringify({ n }),
    EventBusName: 'arn:aws:events:us-east-1:123456789012:event-bus/app',
  });

  it('records what the SDK puts, and refuses entries or fails calls on demand', async () => {
    const ok = await client.send(
      new PutEventsCommand({ Entries: [entry(1), { ...entry(2), EventBusName: undefined }] }),
    );
    expect(ok.FailedEntryCount).toBe(0);
    expect(bridge.events().map((e) => [e.eventBusName, e.detail])).toEqual([
      ['app', { n: 1 }],
      ['default', { n: 2 }],
    ]);

    bridge.injectFault({ kind: 'refuse-entries', count: 1 });
    const partial = await client.send(new PutEventsCommand({ Entries: [entry(3), entry(4)] }));
    expect(partial.FailedEntryCount).toBe(1);
    expect(partial.Entries?.[0]?.ErrorCode).toBe('InternalFailure');
    expect(partial.Entries?.[1]?.EventId).toBeDefined();

    bridge.injectFault({ kind: 'fail-calls', count: 1 });
    await expect(client.send(new PutEventsCommand({ Entries: [entry(5)] }))).rejects.toThrow();
    expect(bridge.events().map((e) => (e.detail as { n: number }).n)).toEqual([1, 2, 4]);

    const listed = (await (await fetch(`${bridge.url}/emulator/events`)).json()) as unknown[];
    expect(listed).toHaveLength(3);
  });
});
