/**
 * Virtual time for the simulation: `sleep` parks a promise in a heap instead of a timer,
 * and `run` jumps from one due time to the next once every pending microtask has settled.
 * Hours of simulated refresh take seconds of real time, and nothing depends on the host's speed.
 */

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export class VirtualClock {
  private current: number;
  private readonly heap: Timer[] = [];
  private seq = 0;

  constructor(startMs = Date.UTC(2026, 0, 5, 3, 0, 0)) {
    this.current = startMs;
  }

  readonly now = (): number => this.current;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => this.push({ at: this.current + Math.max(0, ms), seq: this.seq++, resolve }));

  /** Timers waiting. */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Advances time until no timer is left or `stop()` says so (checked at each step).
   * Timers due at the same instant are released together.
   */
  async run(stop: () => boolean = () => false): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stop()) return;
      const first = this.pop();
      if (!first) {
        // A last turn: microtasks may have scheduled more.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!this.heap.length) return;
        continue;
      }
      this.current = Math.max(this.current, first.at);
      first.resolve();
      while (this.heap.length && this.heap[0]!.at <= this.current) this.pop()!.resolve();
    }
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Timer | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
