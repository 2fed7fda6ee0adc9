/**
 * In-memory standard queues with SQS's delivery semantics: at-least-once, a visibility
 * timeout per receive, a fresh receipt handle per receive (only the latest one deletes),
 * receive counts, delays. No FIFO queues, no message attributes, no dead-letter redrive.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SqsError } from './errors';

export const ACCOUNT_ID = '000000000000';
/** SQS's current limit for one message and for a whole batch (1 MiB). */
export const MAX_MESSAGE_BYTES = 1_048_576;
const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_DELAY_SECONDS = 900;
const MAX_WAIT_SECONDS = 20;

export interface QueueAttributes {
  VisibilityTimeout: number;
  DelaySeconds: number;
  ReceiveMessageWaitTimeSeconds: number;
}

const DEFAULT_ATTRIBUTES: QueueAttributes = {
  VisibilityTimeout: 30,
  DelaySeconds: 0,
  ReceiveMessageWaitTimeSeconds: 0,
};

interface StoredMessage {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The handle of the latest receive; older handles no longer delete the message. */
  receiptHandle?: string;
}

export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes?: Record<string, string>;
}

export interface SendResult {
  MessageId: string;
  MD5OfMessageBody: string;
}

export class Queue {
  readonly createdAt = Date.now();
  private readonly messages = new Map<string, StoredMessage>();

  constructor(
    readonly name: string,
    readonly url: string,
    readonly arn: string,
    readonly attributes: QueueAttributes,
  ) {}

  send(body: string, delaySeconds: number | undefined, now: number): SendResult {
    validateBody(body);
    const delay = boundedInt('DelaySeconds', delaySeconds, this.attributes.DelaySeconds, 0, MAX_DELAY_SECONDS);
    const message: StoredMessage = {
      id: randomUUID(),
      body,
      md5: md5Hex(body),
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    this.messages.set(message.id, message);
    return { MessageId: message.id, MD5OfMessageBody: message.md5 };
  }

  /** Up to `max` visible messages, each hidden for `visibilitySeconds` from now. */
  receive(max: number, visibilitySeconds: number, attributeNames: Set<string>, now: number): ReceivedMessage[] {
    const received: ReceivedMessage[] = [];
    for (const message of this.messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilitySeconds * 1000;
      message.receiptHandle = encodeHandle(this.name, message.id);
      received.push({
        MessageId: message.id,
        ReceiptHandle: message.receiptHandle,
        MD5OfBody: message.md5,
        Body: message.body,
        ...withAttributes(message, attributeNames),
      });
    }
    return received;
  }

  hasVisible(now: number): boolean {
    for (const message of this.messages.values()) if (message.visibleAt <= now) return true;
    return false;
  }

  delete(receiptHandle: string): void {
    const message = this.messages.get(decodeHandle(this.name, receiptHandle));
    // A stale handle (the message was received again since) succeeds without deleting, as in SQS.
    if (message?.receiptHandle === receiptHandle) this.messages.delete(message.id);
  }

  changeVisibility(receiptHandle: string, visibilityTimeout: unknown, now: number): void {
    const seconds = boundedInt('VisibilityTimeout', visibilityTimeout, undefined, 0, MAX_VISIBILITY_SECONDS);
    const message = this.messages.get(decodeHandle(this.name, receiptHandle));
    if (!message || message.receiptHandle !== receiptHandle || message.visibleAt <= now) {
      throw new SqsError('MessageNotInflight', 'Message is not in flight.');
    }
    message.visibleAt = now + seconds * 1000;
  }

  purge(): void {
    this.messages.clear();
  }

  counts(now: number): { visible: number; inFlight: number; delayed: number } {
    const counts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now) counts.visible += 1;
      else if (message.receiveCount > 0) counts.inFlight += 1;
      else counts.delayed += 1;
    }
    return counts;
  }
}

export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly baseUrl: () => string,
    private readonly region: string,
  ) {}

  create(name: unknown, attributes: Record<string, string> | undefined): Queue {
    if (typeof name !== 'string' || !/^[\w-]{1,80}$/.test(name)) {
      throw new SqsError(
        'InvalidParameterValue',
        'Queue names are 1 to 80 letters, digits, hyphens or underscores (FIFO queues are not emulated).',
      );
    }
    const wanted = parseAttributes(attributes);
    const existing = this.queues.get(name);
    if (existing) {
      if (JSON.stringify(existing.attributes) !== JSON.stringify(wanted)) {
        throw new SqsError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute(s).`,
        );
      }
      return existing;
    }
    const queue = new Queue(
      name,
      `${this.baseUrl()}/${ACCOUNT_ID}/${name}`,
      `arn:aws:sqs:${this.region}:${ACCOUNT_ID}:${name}`,
      wanted,
    );
    this.queues.set(name, queue);
    return queue;
  }

  byName(name: unknown): Queue {
    const queue = typeof name === 'string' ? this.queues.get(name) : undefined;
    if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  /** Any host works (SDK clients may say localhost or 127.0.0.1): the path's last segment names the queue. */
  byUrl(queueUrl: unknown): Queue {
    if (typeof queueUrl !== 'string' || !queueUrl)
      throw new SqsError('MissingParameter', 'The request must contain the parameter QueueUrl.');
    let name: string | undefined;
    try {
      name = new URL(queueUrl).pathname.split('/').filter(Boolean).pop();
    } catch {
      throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    }
    return this.byName(name);
  }
}

function parseAttributes(attributes: Record<string, string> | undefined): QueueAttributes {
  const parsed = { ...DEFAULT_ATTRIBUTES };
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (name === 'VisibilityTimeout')
      parsed.VisibilityTimeout = boundedInt(name, value, undefined, 0, MAX_VISIBILITY_SECONDS);
    else if (name === 'DelaySeconds') parsed.DelaySeconds = boundedInt(name, value, undefined, 0, MAX_DELAY_SECONDS);
    else if (name === 'ReceiveMessageWaitTimeSeconds') {
      parsed.ReceiveMessageWaitTimeSeconds = boundedInt(name, value, undefined, 0, MAX_WAIT_SECONDS);
    } else throw new SqsError('InvalidAttributeName', `Unknown or unsupported attribute ${name}.`);
  }
  return parsed;
}

/** An integer parameter within SQS's bounds; `fallback` when absent. */
export function boundedInt(
  name: string,
  value: unknown,
  fallback: number | undefined,
  min: number,
  max: number,
): number {
  if (value === undefined || value === null) {
    if (fallback === undefined)
      throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
    return fallback;
  }
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`,
    );
  }
  return number;
}

// Characters SQS accepts in a body (the XML 1.0 character set).
const INVALID_BODY_CHARS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function validateBody(body: unknown): asserts body is string {
  if (typeof body !== 'string' || body.length === 0) {
    throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
  }
  if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
    throw new SqsError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`,
    );
  }
  if (INVALID_BODY_CHARS.test(body))
    throw new SqsError('InvalidMessageContents', 'Invalid characters found in the message body.');
}

const SYSTEM_ATTRIBUTES = ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SentTimestamp', 'SenderId'];

function withAttributes(message: StoredMessage, requested: Set<string>): { Attributes?: Record<string, string> } {
  const all = requested.has('All');
  const values: Record<string, string> = {
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    SentTimestamp: String(message.sentAt),
    SenderId: ACCOUNT_ID,
  };
  const picked = SYSTEM_ATTRIBUTES.filter((name) => all || requested.has(name));
  return picked.length ? { Attributes: Object.fromEntries(picked.map((name) => [name, values[name]!])) } : {};
}

export const md5Hex = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** Handles name their queue and message, plus randomness so each receive gets a new one. */
function encodeHandle(queueName: string, messageId: string): string {
  return Buffer.from(`${queueName}\n${messageId}\n${randomBytes(12).toString('hex')}`).toString('base64url');
}

function decodeHandle(queueName: string, receiptHandle: unknown): string {
  if (typeof receiptHandle !== 'string')
    throw new SqsError('MissingParameter', 'The request must contain the parameter ReceiptHandle.');
  const [queue, messageId, nonce] = Buffer.from(receiptHandle, 'base64url').toString('utf8').split('\n');
  if (queue !== queueName || !messageId || !nonce) {
    throw new SqsError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`,
    );
  }
  return messageId;
}
