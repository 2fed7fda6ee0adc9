/** Time budgets of Lambda invocations. */

/**
 * Kept in hand at the end of an invocation: enough to finish the users already started,
 * checkpoint unfinished scan segments and answer before Lambda's timeout. Short invocations
 * keep a third of their time instead, so that they still get some work done.
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
  if (remaining === undefined) return undefined;
  return now + remaining - Math.min(DEADLINE_SAFETY_MS, remaining / 3);
}
