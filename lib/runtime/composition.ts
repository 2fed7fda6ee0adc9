/**
 * How every function is wired (one module per function in this folder, imported by its
 * handler): `prepare()` runs at cold start and reads and validates the configuration
 * synchronously, so a bad variable fails the init by name, and starts slow loads early;
 * `service()` builds the domain object once, on first use, and keeps it for the life of
 * the execution environment (async: the client secret may come from Secrets Manager; a
 * failed build is not kept, the next request tries again).
 */
import { once, onceAsync } from '../memo';

export interface Composition<T> {
  prepare(): void;
  service(): Promise<T>;
}

export function composition<T>(parts: { prepare: () => void; build: () => Promise<T> }): Composition<T> {
  return { prepare: once(parts.prepare), service: onceAsync(parts.build) };
}
