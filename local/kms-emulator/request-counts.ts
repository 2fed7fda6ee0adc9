/** Requests received, by KMS operation: lets tests assert how few KMS calls a job makes. */
export class RequestCounts {
  private counts = new Map<string, number>();

  increment(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts = new Map();
  }
}
