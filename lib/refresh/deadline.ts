/** Time budgets of Lambda invocations. */

/**
 * Kept in hand at the end of an invocation: enough to finish the users already started,
 * checkpoint unfinished scan segments and answer before Lambda's timeout.
 */
export const DEADLINE_SAFETY_MS = 10_000;

/** The part of a Lambda context we use; absent when a local tool calls a handler. */
export interface InvocationContext {
  getRemainingTimeInMillis?: () => number;
}

/** Epoch ms by which new work must stop, or undefined when there is no time limit. */
export function invocationDeadline(
  context: InvocationContext | undefined,
  now: number = Date.now(),
): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined ? undefined : now + remaining - DEADLINE_SAFETY_MS;
}
