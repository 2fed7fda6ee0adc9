/** The refresh ledger in memory, with the DynamoDB adapter's semantics and its request costs. */
import {
  cycleFinished,
  type BatchClaim,
  type CycleStart,
  type CycleState,
  type RefreshLedger,
} from '../../lib/store/refresh-ledger';
import type { Meter } from './meter';

interface BatchItem {
  owner?: string;
  leaseExpiresAtMs?: number;
  pending?: string[];
  done?: boolean;
}

/** What the table holds; clients of one ledger share it. */
class LedgerItems {
  cycle: CycleState | undefined;
  readonly batches = new Map<string, BatchItem>();
}

export class MemoryRefreshLedger implements RefreshLedger {
  constructor(
    private readonly meter?: Meter,
    /** Awaited before each request (latency): the simulation's hook. */
    private readonly beforeRequest: () => Promise<void> = () => Promise.resolve(),
    private readonly root: LedgerItems = new LedgerItems(),
  ) {}

  /** A client of the same ledger whose requests wait on other hooks (one per execution environment). */
  withHooks(beforeRequest: () => Promise<void>): MemoryRefreshLedger {
    return new MemoryRefreshLedger(this.meter, beforeRequest, this.root);
  }

  async startCycle(input: {
    cycle: string;
    nowMs: number;
    timeoutMs: number;
    totalSegments: number;
  }): Promise<CycleStart> {
    await this.request('UpdateItem', { write: 1 });
    const running = this.root.cycle;
    if (running && running.expiresAtMs >= input.nowMs && !cycleFinished(running)) {
      await this.request('GetItem', { read: 1 });
      return { started: false, running: { ...running } };
    }
    const state: CycleState = {
      cycle: input.cycle,
      startedAtMs: input.nowMs,
      expiresAtMs: input.nowMs + input.timeoutMs,
      totalSegments: input.totalSegments,
      segmentsDone: 0,
      messages: 0,
      messagesDone: 0,
    };
    this.root.cycle = state;
    return { started: true, state: { ...state } };
  }

  /** The cycle item as it is, without a request (the simulation's own bookkeeping). */
  peekCycle(): CycleState | undefined {
    return this.root.cycle ? { ...this.root.cycle } : undefined;
  }

  async currentCycle(): Promise<CycleState | undefined> {
    await this.request('GetItem', { read: 1 });
    return this.root.cycle ? { ...this.root.cycle } : undefined;
  }

  async recordDispatch(cycle: string, counts: { messages: number; segmentsDone: number }): Promise<void> {
    await this.request('UpdateItem', { write: 1 });
    const state = this.root.cycle;
    if (state?.cycle !== cycle) return;
    state.messages += counts.messages;
    state.segmentsDone += counts.segmentsDone;
  }

  async recordMessagesDone(cycle: string, messages: number): Promise<void> {
    await this.request('UpdateItem', { write: 1 });
    const state = this.root.cycle;
    if (state?.cycle === cycle) state.messagesDone += messages;
  }

  async claimBatch(input: {
    cycle: string;
    batch: string;
    owner: string;
    leaseMs: number;
    nowMs: number;
  }): Promise<BatchClaim> {
    await this.request('UpdateItem', { write: 1 });
    const key = `${input.cycle}#${input.batch}`;
    const item = this.root.batches.get(key) ?? {};
    if (item.done) {
      await this.request('GetItem', { read: 1 });
      return { status: 'done' };
    }
    if (item.leaseExpiresAtMs !== undefined && item.leaseExpiresAtMs >= input.nowMs) {
      await this.request('GetItem', { read: 1 });
      return { status: 'held', leaseExpiresAtMs: item.leaseExpiresAtMs };
    }
    item.owner = input.owner;
    item.leaseExpiresAtMs = input.nowMs + input.leaseMs;
    this.root.batches.set(key, item);
    return item.pending ? { status: 'claimed', pending: [...item.pending] } : { status: 'claimed' };
  }

  async finishBatch(input: {
    cycle: string;
    batch: string;
    owner: string;
    pending: string[];
    nowMs: number;
  }): Promise<boolean> {
    await this.request('UpdateItem', { write: 1 });
    const item = this.root.batches.get(`${input.cycle}#${input.batch}`);
    if (item?.owner !== input.owner) return false;
    delete item.owner;
    delete item.leaseExpiresAtMs;
    if (input.pending.length) item.pending = [...input.pending];
    else {
      item.done = true;
      delete item.pending;
    }
    return true;
  }

  private async request(operation: string, units: { read?: number; write?: number }): Promise<void> {
    // Ledger items stay far below 1 KB: one unit per write or (consistent) read.
    this.meter?.dynamoRequest(operation, units);
    await this.beforeRequest();
  }
}
