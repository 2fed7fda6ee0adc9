/** Typed reads of a control request's JSON body; a wrong type is a RangeError (answered 400). */
import { isRecord, jsonBody, type EmulatorRequest } from '../http';

export class Input {
  private constructor(readonly fields: Record<string, unknown>) {}

  static of(request: EmulatorRequest): Input {
    const body = jsonBody(request);
    if (!isRecord(body)) throw new RangeError('the body must be a JSON object');
    return new Input(body);
  }

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw new RangeError(`${name} is required`);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.typed(name, 'string', (value): value is string => typeof value === 'string');
  }

  optionalNumber(name: string): number | undefined {
    return this.typed(name, 'number', (value): value is number => typeof value === 'number' && Number.isFinite(value));
  }

  optionalBoolean(name: string): boolean | undefined {
    return this.typed(name, 'boolean', (value): value is boolean => typeof value === 'boolean');
  }

  optionalStringList(name: string): string[] | undefined {
    const isList = (value: unknown): value is string[] =>
      Array.isArray(value) && value.every((item) => typeof item === 'string');
    return this.typed(name, 'a list of strings', isList);
  }

  optionalObject(name: string): Record<string, unknown> | undefined {
    return this.typed(name, 'an object', isRecord);
  }

  private typed<T>(name: string, description: string, check: (value: unknown) => value is T): T | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (!check(value)) throw new RangeError(`${name} must be ${description}`);
    return value;
  }
}
