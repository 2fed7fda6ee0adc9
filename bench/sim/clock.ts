/**
 * Virtual time for the simulation: `sleep` parks a promise in a heap instead of a timer,
 * and `run` jumps from one due time to the next once every pending microtask has settled.
 * Hours of simulated refresh take seconds of real time, and nothing depends on the host's speed.
 */
import { MinHeap } from './min-heap';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export class VirtualClock {
  private current: number;
  private readonly heap = new MinHeap<Timer>(before);
  private seq = 0;

  constructor(startMs = Date.UTC(2026, 0, 5, 3, 0, 0)) {
    this.current = startMs;
  }

  readonly now = (): number => this.current;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => this.heap.push({ at: this.current + Math.max(0, ms), seq: this.seq++, resolve }));

  /** Timers waiting. */
  get pending(): number {
    return this.heap.size;
  }

  /**
   * Advances time until no timer is left or `stop()` says so (checked at each step).
   * Timers due at the same instant are released together.
   */
  async run(stop: () => boolean = () => false): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stop()) return;
      const first = this.heap.pop();
      if (!first) {
        // A last turn: microtasks may have scheduled more.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!this.heap.size) return;
        continue;
      }
      this.current = Math.max(this.current, first.at);
      first.resolve();
      while (this.heap.size && this.heap.peek()!.at <= this.current) this.heap.pop()!.resolve();
    }
  }
}

const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
