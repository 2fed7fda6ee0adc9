/**
 * The emulator's clock: real time plus an offset that tests move forward, so codes and
 * access tokens expire without anyone waiting ten minutes. It governs what the emulator
 * itself checks and stores, not the times inside signed tokens: see `unixSeconds`.
 */
export class EmulatorClock {
  private offsetMs = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError('advanceSeconds must be a non-negative number');
    this.offsetMs += seconds * 1000;
  }
}

/**
 * Real time for `iat`/`exp` in signed tokens (ID tokens, security events) and for checking
 * signed assertions: their other side (google-auth-library, the product) verifies on the
 * real clock, so a token "issued" on an advanced emulator clock would be rejected as
 * issued in the future. Tests wanting an expired token sign one with an old `iat`.
 */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
