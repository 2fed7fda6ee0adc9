/** What the simulated services were asked, counted the way AWS and Google bill and throttle. */
export class Meter {
  readonly dynamo = { readUnits: 0, writeUnits: 0, requests: {} as Record<string, number> };
  readonly sqs = { requests: {} as Record<string, number> };
  readonly kms = { requests: {} as Record<string, number> };
  readonly google = { requests: {} as Record<string, number>, throttled: 0, failed: 0 };
  readonly lambda = {
    invocations: 0,
    coldStarts: 0,
    durationGbSeconds: 0,
    initGbSeconds: 0,
    peakConcurrency: 0,
    /** Integral of running environments over time (environment-ms), for the mean. */
    busyMs: 0,
  };
  readonly logs = { bytes: 0, metricNames: new Set<string>() };
  /** Writes to user items only (not the ledger): the "reduced-write path" figure. */
  userItemWriteUnits = 0;

  dynamoRequest(operation: string, units: { read?: number; write?: number } = {}): void {
    this.dynamo.requests[operation] = (this.dynamo.requests[operation] ?? 0) + 1;
    this.dynamo.readUnits += units.read ?? 0;
    this.dynamo.writeUnits += units.write ?? 0;
  }

  count(bucket: Record<string, number>, operation: string, n = 1): void {
    bucket[operation] = (bucket[operation] ?? 0) + n;
  }
}

export const total = (bucket: Record<string, number>): number => Object.values(bucket).reduce((a, b) => a + b, 0);
