/**
 * The emulator's clock: real time plus an offset that tests move forward, so codes and
 * access tokens expire without anyone waiting ten minutes.
 */
export class EmulatorClock {
  private offsetMs = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError('advanceSeconds must be a non-negative number');
    this.offsetMs += seconds * 1000;
  }
}
