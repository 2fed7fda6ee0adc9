/**
 * Builds DynamoDB expressions (update, condition, key condition) from named parts, so no
 * caller hand-numbers `#n0` / `:v0` placeholders. Every adapter of the table uses it.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

export class Expression {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly conditions: string[] = [];
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, AttributeValue> = {};
  private readonly placeholders = new Map<string, string>();
  private counter = 0;

  /** The placeholder of an attribute name (one per attribute). */
  name(attribute: string): string {
    let placeholder = this.placeholders.get(attribute);
    if (!placeholder) {
      placeholder = `#n${this.placeholders.size}`;
      this.placeholders.set(attribute, placeholder);
      this.names[placeholder] = attribute;
    }
    return placeholder;
  }

  /** A fresh placeholder for a value. */
  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = marshall({ v: value }, { removeUndefinedValues: true }).v as AttributeValue;
    return placeholder;
  }

  /** `SET attribute = value`; an undefined value is skipped. */
  set(attribute: string, value: unknown): this {
    if (value === undefined) return this;
    this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  setIfMissing(attribute: string, value: unknown): this {
    const n = this.name(attribute);
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(value)})`);
    return this;
  }

  /** `SET attribute = if_not_exists(attribute, 0) + by`. */
  increment(attribute: string, by = 1): this {
    const n = this.name(attribute);
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(0)}) + ${this.value(by)}`);
    return this;
  }

  remove(...attributes: string[]): this {
    for (const attribute of attributes) this.removes.push(this.name(attribute));
    return this;
  }

  /** Adds a condition (all conditions are ANDed); written with `name()` and `value()`. */
  where(condition: string): this {
    this.conditions.push(condition);
    return this;
  }

  whereExists(attribute: string): this {
    return this.where(`attribute_exists(${this.name(attribute)})`);
  }

  whereMissing(attribute: string): this {
    return this.where(`attribute_not_exists(${this.name(attribute)})`);
  }

  whereEquals(attribute: string, value: unknown): this {
    return this.where(`${this.name(attribute)} = ${this.value(value)}`);
  }

  /** The expression parts of an UpdateItem / PutItem / DeleteItem / Query input. */
  build(): {
    UpdateExpression?: string;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  } {
    const update = [
      ...(this.sets.length ? [`SET ${this.sets.join(', ')}`] : []),
      ...(this.removes.length ? [`REMOVE ${this.removes.join(', ')}`] : []),
    ].join(' ');
    return {
      ...(update ? { UpdateExpression: update } : {}),
      ...(this.conditions.length ? { ConditionExpression: this.conditions.map((c) => `(${c})`).join(' AND ') } : {}),
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/** Whether an SDK error is a failed condition (the write did not happen, by design). */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}
