/** EventBridge schedule → one refresh cycle: every active user onto the refresh queue. */
import type { ScheduledEvent } from 'aws-lambda';
import { invocationDeadline, type InvocationContext } from '../../lib/refresh/deadline';
import type { DispatchResult } from '../../lib/refresh/dispatch';
import { refreshDispatcher } from '../../lib/refresh/dispatch-runtime';

// Read and validate configuration at cold start: a bad variable fails loudly, by name.
const dispatcher = refreshDispatcher();

/**
 * The cycle is named by the dispatcher's own clock, not the event's `time`: a replayed or
 * hand-made event with an old time would otherwise mark every user "already refreshed".
 */
export const handler = async (
  _event: Partial<ScheduledEvent> | undefined,
  context?: InvocationContext,
): Promise<DispatchResult> => {
  const deadline = invocationDeadline(context);
  return dispatcher.dispatchCycle(deadline !== undefined ? { deadline } : {});
};
