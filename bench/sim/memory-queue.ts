/**
 * An SQS standard queue in memory, with what matters to the refresh: ten entries per send
 * request, delays, a visibility timeout on receive, redelivery of what was not deleted,
 * a dead-letter queue after `maxReceives` deliveries, and a request count for the bill.
 */
import type { RefreshQueueMessage, RevokeTokenMessage } from '../../lib/refresh/messages';
import type { RefreshQueue, RevocationQueue } from '../../lib/refresh/queue';
import type { Meter } from './meter';
import { MinHeap } from './min-heap';

export interface QueuedMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  visibleAt: number;
  deleted: boolean;
  /** Bumped on each receive: a stale receipt cannot delete a redelivered message. */
  receipt: number;
}

export interface MemoryQueueOptions {
  now: () => number;
  visibilityTimeoutMs: number;
  /** Deliveries before a message moves to the dead-letter queue. */
  maxReceives: number;
  meter?: Meter;
  /** Awaited before each request (latency): the simulation's hook. */
  beforeRequest?: () => Promise<void>;
}

const MAX_BATCH = 10;

export class MemoryQueue implements RefreshQueue, RevocationQueue {
  readonly deadLetters: QueuedMessage[] = [];
  // The oldest visible message first, as SQS roughly does.
  private readonly heap = new MinHeap<QueuedMessage>((a, b) => a.visibleAt < b.visibleAt);
  private nextId = 0;
  private live = 0;

  constructor(private readonly options: MemoryQueueOptions) {}

  /** Messages not yet deleted (waiting, delayed or in flight). */
  get size(): number {
    return this.live;
  }

  async send(messages: readonly RefreshQueueMessage[]): Promise<void> {
    for (let start = 0; start < messages.length; start += MAX_BATCH) {
      await this.request('SendMessageBatch');
      for (const message of messages.slice(start, start + MAX_BATCH)) this.put(JSON.stringify(message), 0);
    }
  }

  async enqueue(message: RevokeTokenMessage, delaySeconds = 0): Promise<void> {
    await this.request('SendMessage');
    this.put(JSON.stringify(message), Math.min(900, Math.max(0, delaySeconds)) * 1000);
  }

  /** One ReceiveMessage: up to `max` visible messages, now invisible for the visibility timeout. */
  async receive(max: number): Promise<QueuedMessage[]> {
    await this.request('ReceiveMessage');
    const now = this.options.now();
    const taken: QueuedMessage[] = [];
    while (taken.length < max && this.heap.size && this.heap.peek()!.visibleAt <= now) {
      const message = this.heap.pop()!;
      if (message.deleted) continue;
      if (message.receiveCount >= this.options.maxReceives) {
        message.deleted = true;
        this.live -= 1;
        this.deadLetters.push(message);
        continue;
      }
      message.receiveCount += 1;
      message.receipt += 1;
      message.visibleAt = now + this.options.visibilityTimeoutMs;
      this.heap.push(message);
      taken.push({ ...message });
    }
    return taken;
  }

  /** One DeleteMessageBatch per ten receipts. */
  async delete(received: readonly QueuedMessage[]): Promise<void> {
    for (let start = 0; start < received.length; start += MAX_BATCH) {
      await this.request('DeleteMessageBatch');
      for (const copy of received.slice(start, start + MAX_BATCH)) {
        const message = this.byId.get(copy.messageId);
        if (!message || message.deleted || message.receipt !== copy.receipt) continue;
        message.deleted = true;
        this.byId.delete(copy.messageId);
        this.live -= 1;
      }
    }
  }

  /** When the next message becomes visible (undefined: none waiting). */
  nextVisibleAt(): number | undefined {
    while (this.heap.size && this.heap.peek()!.deleted) this.heap.pop();
    return this.heap.peek()?.visibleAt;
  }

  private readonly byId = new Map<string, QueuedMessage>();

  private put(body: string, delayMs: number): void {
    const message: QueuedMessage = {
      messageId: `m-${this.nextId++}`,
      body,
      receiveCount: 0,
      visibleAt: this.options.now() + delayMs,
      deleted: false,
      receipt: 0,
    };
    this.byId.set(message.messageId, message);
    this.live += 1;
    this.heap.push(message);
  }

  private async request(operation: string): Promise<void> {
    this.options.meter?.count(this.options.meter.sqs.requests, operation);
    await this.options.beforeRequest?.();
  }
}
