/**
 * The refresh ledger port: what a refresh cycle keeps besides the user records, so that a
 * cycle costs a few writes per queue message instead of two per user.
 *
 * - One **cycle** item: which cycle runs, how many messages it dispatched and how many are
 *   finished. The dispatcher starts a cycle only when the previous one finished (or timed
 *   out), so no user is ever on the queue twice.
 * - One **batch claim** per `refresh` message: the worker claims it (a conditional write)
 *   before touching its users, and records at the end which users still need a retry.
 *   A redelivered message resumes from there; a message whose worker crashed is claimed
 *   again once its lease expires (it is handed back to SQS until then, never dropped).
 */

export interface CycleState {
  /** ISO time the cycle was dispatched (its name). */
  cycle: string;
  startedAtMs: number;
  /** Epoch ms after which the cycle counts as abandoned and a new one may start. */
  expiresAtMs: number;
  totalSegments: number;
  /** Scan segments the dispatcher (or a worker continuing one) finished. */
  segmentsDone: number;
  /** `refresh` messages put on the queue. */
  messages: number;
  /** `refresh` messages finished (every user done, or given up on after the last delivery). */
  messagesDone: number;
}

/** Whether every message of the cycle was dispatched and finished. */
export function cycleFinished(state: CycleState): boolean {
  return state.segmentsDone >= state.totalSegments && state.messagesDone >= state.messages;
}

export type CycleStart = { started: true; state: CycleState } | { started: false; running: CycleState };

export type BatchClaim =
  /** Ours: process `pending` (undefined: every user of the message). */
  | { status: 'claimed'; pending?: string[] }
  /** Every user of the message was already processed: acknowledge it. */
  | { status: 'done' }
  /** Another run holds it right now (or crashed holding it): hand the message back to SQS. */
  | { status: 'held'; leaseExpiresAtMs: number };

export interface RefreshLedger {
  /**
   * Starts `cycle` unless another cycle is still running (not finished, not expired).
   * Atomic: of two dispatchers firing at once, one starts.
   */
  startCycle(input: { cycle: string; nowMs: number; timeoutMs: number; totalSegments: number }): Promise<CycleStart>;

  /** The cycle started last (undefined before the first). */
  currentCycle(): Promise<CycleState | undefined>;

  /** Counts messages about to be sent and segments finished (call before sending: an over-count is the safe error). */
  recordDispatch(cycle: string, counts: { messages: number; segmentsDone: number }): Promise<void>;

  /** Counts finished messages. */
  recordMessagesDone(cycle: string, messages: number): Promise<void>;

  /** Claims one `refresh` message's batch for `leaseMs`. */
  claimBatch(input: {
    cycle: string;
    batch: string;
    owner: string;
    leaseMs: number;
    nowMs: number;
  }): Promise<BatchClaim>;

  /**
   * Ends this run's claim: `pending` are the users a redelivery must still process (empty:
   * the batch is done). A claim another run took over meanwhile is left alone (false).
   */
  finishBatch(input: {
    cycle: string;
    batch: string;
    owner: string;
    pending: string[];
    nowMs: number;
  }): Promise<boolean>;
}
