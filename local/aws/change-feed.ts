/**
 * DynamoDB Streams for the local stack. dynalite has no streams, so this sits in front of
 * whatever DynamoDB the stack uses (dynalite, moto, DynamoDB Local) as a DynamoDB-protocol
 * proxy: every write to a table with its stream enabled is serialized per item, the item is
 * read before and after it, and a change becomes a stream record in exactly the shape Lambda
 * delivers (`NEW_AND_OLD_IMAGES`, DynamoDB JSON, a growing `SequenceNumber`). A write that
 * changes nothing (or fails its condition) makes no record, as with DynamoDB Streams.
 *
 * `LocalStream.attach` plays Lambda's event source mapping: one batch at a time in order,
 * `batchItemFailures` checkpointing (retry from the first failed record), a thrown error
 * retries the batch halved (bisect), and after `maxRetries` the batch goes to the
 * on-failure list. So the real `functions/connection-events` handler runs unchanged here.
 *
 * Every process of the local stack must write through the proxy's URL (it replaces
 * `AWS_ENDPOINT_URL_DYNAMODB`); writes that bypass it are not seen.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { TOKEN_TABLE } from '../../lib/store/table-definition';
import { readLimitedBody } from './json-protocol';
import { listenOnLoopback } from './local-service';

type Item = Record<string, unknown>;
const TARGET_PREFIX = 'DynamoDB_20120810.';
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export interface StreamConsumerOptions {
  /** Records per invocation. @default 100 */
  batchSize?: number;
  /** Retries of a failing batch before it goes to the on-failure list. @default 10 */
  maxRetries?: number;
  /** Halve a batch whose invocation threw before retrying it. @default true */
  bisectOnError?: boolean;
  /** First wait before a retry; doubles, up to a second. @default 20 */
  retryDelayMs?: number;
  /** Where records that exhausted their retries are reported (Lambda's on-failure destination). */
  onFailure?: (records: DynamoDBRecord[], error: unknown) => void;
}

export interface StreamConsumer {
  /** Resolves once every record appended so far was handled (or sent to on-failure). */
  drain(): Promise<void>;
  /** Records that exhausted their retries. */
  failures(): DynamoDBRecord[];
  /** Stops after the batch in flight. */
  stop(): Promise<void>;
}

export interface LocalStream {
  readonly arn: string;
  /** Plays Lambda's event source mapping for `handler` (one consumer per stream). */
  attach(handler: StreamHandler, options?: StreamConsumerOptions): StreamConsumer;
  /** Records appended so far that no consumer has passed yet. */
  pending(): number;
}

export interface ChangeFeed {
  /** The value for `AWS_ENDPOINT_URL_DYNAMODB`. */
  url: string;
  /**
   * Turns on the stream of a table (idempotent). `keyFilter` keeps only the items whose key
   * matches (as a Lambda event filter on `dynamodb.Keys` would); other writes pass straight through.
   */
  enableStream(tableName: string, keyFilter?: (keys: Record<string, unknown>) => boolean): LocalStream;
  close(): Promise<void>;
}

export async function startChangeFeed(options: {
  upstream: string;
  port?: number;
  region?: string;
}): Promise<ChangeFeed> {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const streams = new Map<string, StreamLog>();
  const locks = new KeyLocks();
  const keySchemas = new Map<string, string[]>();
  const upstream = (target: string, input: object, headers: Record<string, string>) =>
    forward(options.upstream, { ...headers, 'x-amz-target': `${TARGET_PREFIX}${target}` }, JSON.stringify(input));

  const keyNames = async (table: string, headers: Record<string, string>): Promise<string[]> => {
    const known = keySchemas.get(table);
    if (known) return known;
    const out = await upstream('DescribeTable', { TableName: table }, headers);
    const schema = (JSON.parse(out.body) as { Table?: { KeySchema?: { AttributeName: string }[] } }).Table?.KeySchema;
    const names = (schema ?? []).map((key) => key.AttributeName);
    keySchemas.set(table, names);
    return names;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = (await readLimitedBody(request, MAX_REQUEST_BYTES)) ?? Buffer.alloc(0);
    const headers = forwardedHeaders(request);
    const target = headers['x-amz-target']?.slice(TARGET_PREFIX.length) ?? '';
    let writes: ItemRef[] = [];
    let input: Item = {};
    if (WRITE_OPERATIONS.has(target) && streams.size) {
      input = JSON.parse(body.toString('utf8') || '{}') as Item;
      writes = (await writtenItems(target, input, (table) => keyNames(table, headers))).filter(
        (ref) => streams.get(ref.table)?.wants(ref.key) === true,
      );
    }
    if (!writes.length) return reply(response, await forward(options.upstream, headers, body));

    const release = await locks.acquire(writes.map((ref) => ref.id));
    try {
      const read = (ref: ItemRef) => readItem(upstream, headers, ref);
      const single = writes.length === 1 ? singleItemWrite(target, input) : undefined;
      if (single) {
        // One item: ask the write itself for an image, so at most one extra read is needed.
        const [ref] = writes as [ItemRef];
        const before = single.readBefore ? await read(ref) : undefined;
        const result = await forward(options.upstream, headers, JSON.stringify(single.request));
        if (result.status === 200) {
          const answer = JSON.parse(result.body) as { Attributes?: Item };
          const images = single.images(answer.Attributes, before);
          streams.get(ref.table)?.append(ref.key, images.before, images.after);
          if (!single.keepAttributes) {
            delete answer.Attributes;
            result.body = JSON.stringify(answer);
          }
          delete result.headers['x-amz-crc32'];
        }
        return reply(response, result);
      }
      const before = await Promise.all(writes.map(read));
      const result = await forward(options.upstream, headers, body);
      if (result.status === 200) {
        const after = await Promise.all(writes.map(read));
        writes.forEach((ref, i) => streams.get(ref.table)?.append(ref.key, before[i], after[i]));
      }
      reply(response, result);
    } finally {
      release();
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error('change feed proxy error', error);
      response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(
        JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'proxy' }),
      );
    });
  });
  const service = await listenOnLoopback(server, options.port);
  return {
    url: service.url,
    enableStream(tableName, keyFilter) {
      let stream = streams.get(tableName);
      if (!stream) {
        stream = new StreamLog(tableName, region, keyFilter);
        streams.set(tableName, stream);
      }
      return stream;
    },
    close: () => service.close(),
  };
}

/** The CDK stack's event filter (`USER#` keys) as a key filter: the ledgers' items never reach the consumer. */
export const userRecordsOnly = (keys: Record<string, unknown>): boolean => {
  const pk = keys[TOKEN_TABLE.partitionKey] as { S?: string } | undefined;
  return pk?.S?.startsWith('USER#') === true;
};

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

interface ItemRef {
  table: string;
  key: Item;
  /** `table` + canonical key: the lock and identity of the item. */
  id: string;
}

interface SingleItemWrite {
  /** The request forwarded instead: it asks DynamoDB for the image it can return. */
  request: Item;
  /** Whether the item must be read before the write (UpdateItem: DynamoDB returns only one image). */
  readBefore: boolean;
  /** Whether the caller asked for the `Attributes` we asked for. */
  keepAttributes: boolean;
  images(attributes: Item | undefined, before: Item | undefined): { before?: Item; after?: Item };
}

/**
 * PutItem and DeleteItem return the old item (`ALL_OLD`) and the new one is known; UpdateItem
 * returns the new item (`ALL_NEW`) and the old one is read first. Undefined for a form this
 * does not cover (another ReturnValues): the generic read-before-and-after path serves it.
 */
function singleItemWrite(target: string, input: Item): SingleItemWrite | undefined {
  const asked = (input.ReturnValues as string | undefined) ?? 'NONE';
  if (target === 'PutItem' && (asked === 'NONE' || asked === 'ALL_OLD')) {
    return {
      request: { ...input, ReturnValues: 'ALL_OLD' },
      readBefore: false,
      keepAttributes: asked === 'ALL_OLD',
      images: (attributes) => ({ before: attributes, after: input.Item as Item }),
    };
  }
  if (target === 'DeleteItem' && (asked === 'NONE' || asked === 'ALL_OLD')) {
    return {
      request: { ...input, ReturnValues: 'ALL_OLD' },
      readBefore: false,
      keepAttributes: asked === 'ALL_OLD',
      images: (attributes) => ({ before: attributes }),
    };
  }
  if (target === 'UpdateItem' && (asked === 'NONE' || asked === 'ALL_NEW')) {
    return {
      request: { ...input, ReturnValues: 'ALL_NEW' },
      readBefore: true,
      keepAttributes: asked === 'ALL_NEW',
      images: (attributes, before) => ({ before, after: attributes }),
    };
  }
  return undefined;
}

/** The items a write request touches. */
async function writtenItems(
  target: string,
  input: Item,
  keyNames: (table: string) => Promise<string[]>,
): Promise<ItemRef[]> {
  const refs: ItemRef[] = [];
  const add = async (table: unknown, key: unknown, item?: unknown) => {
    if (typeof table !== 'string') return;
    const source = (key ?? item) as Item | undefined;
    if (!source) return;
    const names = key ? Object.keys(source) : await keyNames(table);
    const picked = Object.fromEntries(names.sort().map((name) => [name, source[name]]));
    refs.push({ table, key: picked, id: `${table}\n${JSON.stringify(picked)}` });
  };
  if (target === 'PutItem') await add(input.TableName, undefined, input.Item);
  else if (target === 'UpdateItem' || target === 'DeleteItem') await add(input.TableName, input.Key);
  else if (target === 'BatchWriteItem') {
    for (const [table, requests] of Object.entries((input.RequestItems ?? {}) as Record<string, Item[]>)) {
      for (const request of requests) {
        const put = request.PutRequest as Item | undefined;
        const del = request.DeleteRequest as Item | undefined;
        await add(table, del?.Key, put?.Item);
      }
    }
  } else if (target === 'TransactWriteItems') {
    for (const entry of (input.TransactItems ?? []) as Item[]) {
      const put = entry.Put as Item | undefined;
      const write = (entry.Update ?? entry.Delete) as Item | undefined;
      if (put) await add(put.TableName, undefined, put.Item);
      else if (write) await add(write.TableName, write.Key);
    }
  }
  return refs;
}

async function readItem(
  upstream: (target: string, input: object, headers: Record<string, string>) => Promise<Forwarded>,
  headers: Record<string, string>,
  ref: ItemRef,
): Promise<Item | undefined> {
  const out = await upstream('GetItem', { TableName: ref.table, Key: ref.key, ConsistentRead: true }, headers);
  if (out.status !== 200) throw new Error(`change feed: GetItem answered ${out.status}: ${out.body.slice(0, 200)}`);
  return (JSON.parse(out.body) as { Item?: Item }).Item;
}

interface Forwarded {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function forward(upstream: string, headers: Record<string, string>, body: Buffer | string): Promise<Forwarded> {
  const response = await fetch(upstream, { method: 'POST', headers, body });
  const answer: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'content-encoding'].includes(name))
      answer[name] = value;
  });
  return { status: response.status, headers: answer, body: await response.text() };
}

function forwardedHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || ['host', 'content-length', 'connection', 'expect'].includes(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function reply(response: ServerResponse, result: Forwarded): void {
  response.writeHead(result.status, { ...result.headers, 'content-length': String(Buffer.byteLength(result.body)) });
  response.end(result.body);
}

/** Per-item mutual exclusion; several items are taken in a fixed order, so two writers cannot deadlock. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(ids: string[]): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const id of [...new Set(ids)].sort()) {
      const previous = this.tails.get(id) ?? Promise.resolve();
      let release!: () => void;
      const current = new Promise<void>((resolve) => (release = resolve));
      const tail = previous.then(() => current);
      this.tails.set(id, tail);
      await previous;
      releases.push(() => {
        release();
        if (this.tails.get(id) === tail) this.tails.delete(id);
      });
    }
    return () => releases.forEach((release) => release());
  }
}

class StreamLog implements LocalStream {
  readonly arn: string;
  private records: DynamoDBRecord[] = [];
  private sequence = 0n;
  private consumer?: Consumer;

  constructor(
    private readonly table: string,
    private readonly region: string,
    private readonly keyFilter?: (keys: Record<string, unknown>) => boolean,
  ) {
    this.arn = `arn:aws:dynamodb:${region}:000000000000:table/${table}/stream/${new Date().toISOString()}`;
  }

  wants(keys: Item): boolean {
    return this.keyFilter ? this.keyFilter(keys) : true;
  }

  append(keys: Item, before: Item | undefined, after: Item | undefined): void {
    // An empty or absent Attributes map (a PutItem on a new key) means no item.
    if (before && !Object.keys(before).length) before = undefined;
    if (after && !Object.keys(after).length) after = undefined;
    if (canonicalJson(before) === canonicalJson(after)) return;
    this.sequence += 1n;
    const image = (item: Item | undefined) => item as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'];
    this.records.push({
      eventID: randomBytes(16).toString('hex'),
      eventName: !before ? 'INSERT' : !after ? 'REMOVE' : 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.region,
      eventSourceARN: this.arn,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: image(keys),
        ...(after ? { NewImage: image(after) } : {}),
        ...(before ? { OldImage: image(before) } : {}),
        SequenceNumber: this.sequence.toString().padStart(21, '0'),
        SizeBytes: Buffer.byteLength(JSON.stringify([keys, before, after])),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    this.consumer?.wake();
  }

  pending(): number {
    return this.records.length;
  }

  attach(handler: StreamHandler, options: StreamConsumerOptions = {}): StreamConsumer {
    if (this.consumer) throw new Error(`the stream of ${this.table} already has a consumer`);
    const consumer = new Consumer(
      handler,
      options,
      () => this.records,
      (count) => {
        this.records = this.records.slice(count);
      },
    );
    this.consumer = consumer;
    consumer.wake();
    return consumer;
  }
}

/** Lambda's event source mapping for one shard: one batch in flight, checkpoints, retries, bisect. */
class Consumer implements StreamConsumer {
  private running?: Promise<void>;
  private stopped = false;
  private readonly failed: DynamoDBRecord[] = [];
  private readonly batchSize: number;
  private readonly maxRetries: number;

  constructor(
    private readonly handler: StreamHandler,
    private readonly options: StreamConsumerOptions,
    private readonly records: () => DynamoDBRecord[],
    private readonly checkpoint: (count: number) => void,
  ) {
    this.batchSize = options.batchSize ?? 100;
    this.maxRetries = options.maxRetries ?? 10;
  }

  wake(): void {
    if (this.running || this.stopped) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.records().length && !this.stopped) this.wake();
    });
  }

  async drain(): Promise<void> {
    while (this.running || (this.records().length && !this.stopped)) {
      this.wake();
      await this.running;
    }
  }

  failures(): DynamoDBRecord[] {
    return [...this.failed];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<void> {
    let size = this.batchSize;
    let attempts = 0;
    let delay = this.options.retryDelayMs ?? 20;
    while (!this.stopped && this.records().length) {
      const batch = this.records().slice(0, size);
      let done = batch.length;
      let error: unknown;
      try {
        const result = await this.handler({ Records: batch });
        const failedIds = new Set((result?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
        const first = batch.findIndex((record) => failedIds.has(record.dynamodb?.SequenceNumber ?? ''));
        if (first >= 0) {
          done = first;
          error = new Error('batch item failure reported');
        }
      } catch (thrown) {
        done = 0;
        error = thrown;
        if (this.options.bisectOnError !== false && size > 1) size = Math.ceil(batch.length / 2);
      }
      this.checkpoint(done);
      if (error === undefined) {
        size = this.batchSize;
        attempts = 0;
        delay = this.options.retryDelayMs ?? 20;
        continue;
      }
      attempts += 1;
      if (attempts > this.maxRetries) {
        // What is left of the failing batch goes to the on-failure list, and the shard moves on.
        const dropped = this.records().slice(0, Math.max(1, batch.length - done));
        this.checkpoint(dropped.length);
        this.failed.push(...dropped);
        this.options.onFailure?.(dropped, error);
        attempts = 0;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }
}

/** JSON with every object's keys in a fixed order, to compare an item before and after a write. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Item)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
