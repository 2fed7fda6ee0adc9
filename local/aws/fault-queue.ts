/**
 * Injected AWS faults for the local stand-ins (KMS emulator, SQS emulator, the DynamoDB
 * fault proxy): the next `count` requests of an operation (optionally only those whose
 * body contains `match`) fail as AWS would fail them. Each service turns a fault into its
 * own wire answer.
 */
export interface AwsFaultSpec<Kind extends string = string> {
  /** The operation (`GenerateDataKey`, `UpdateItem`, `SendMessage`); any when absent. */
  operation?: string;
  kind: Kind;
  /** How many matching requests fail (default 1). Remember the SDK retries throttles and 5xx. */
  count?: number;
  /** Only requests whose JSON body contains this text (e.g. `USER#` for user items). */
  match?: string;
}

interface PendingFault<Kind extends string> extends AwsFaultSpec<Kind> {
  remaining: number;
}

export class AwsFaultQueue<Kind extends string> {
  private pending: PendingFault<Kind>[] = [];
  private readonly injected = new Map<string, number>();

  constructor(private readonly kinds: readonly Kind[]) {}

  add(spec: AwsFaultSpec<Kind>): void {
    if (!this.kinds.includes(spec.kind)) throw new RangeError(`unknown fault kind: ${String(spec.kind)}`);
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError('fault count must be a positive integer');
    this.pending.push({ ...spec, remaining: count });
  }

  clear(): void {
    this.pending = [];
  }

  /** Consumes one use of the first fault matching this request, if any. */
  take(operation: string, body: string): Kind | undefined {
    const fault = this.pending.find(
      (f) =>
        (f.operation === undefined || f.operation === operation) && (f.match === undefined || body.includes(f.match)),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.pending = this.pending.filter((f) => f !== fault);
    const key = `${operation}:${fault.kind}`;
    this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
    return fault.kind;
  }

  /** Faults answered so far, by `operation:kind`. */
  injectedCounts(): Record<string, number> {
    return Object.fromEntries(this.injected);
  }
}
