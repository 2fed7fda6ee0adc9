/**
 * Which backends a wire-protocol suite runs against. The `local` project (part of `npm
 * test`, Node.js only) runs the in-process emulators; the `tools` project runs the very same
 * suites against moto_server, which CI machines have and a laptop may not.
 */
declare const TEST_BACKENDS: 'emulators' | 'moto' | undefined;

export function backendsOfThisTier<T extends { moto?: boolean }>(all: readonly T[]): T[] {
  const moto = typeof TEST_BACKENDS !== 'undefined' && TEST_BACKENDS === 'moto';
  return all.filter((target) => Boolean(target.moto) === moto);
}
