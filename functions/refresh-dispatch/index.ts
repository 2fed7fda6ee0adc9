/** EventBridge schedule → one refresh cycle: every active user onto the refresh queue. */
import type { ScheduledEvent } from 'aws-lambda';
import { invocationDeadline, type InvocationContext } from '../../lib/refresh/deadline';
import type { DispatchResult } from '../../lib/refresh/dispatch';
import { refreshDispatcher } from '../../lib/refresh/dispatch-runtime';

// Read and validate configuration at cold start: a bad variable fails loudly, by name.
const dispatcher = refreshDispatcher();

export const handler = async (
  event: Partial<ScheduledEvent> | undefined,
  context?: InvocationContext,
): Promise<DispatchResult> => {
  const deadline = invocationDeadline(context);
  return dispatcher.dispatchCycle({ ...cycleOf(event), ...(deadline !== undefined ? { deadline } : {}) });
};

/** The schedule's own time names the cycle, so a retried invocation is the same cycle. */
function cycleOf(event: Partial<ScheduledEvent> | undefined): { cycle?: string } {
  const time = typeof event?.time === 'string' ? Date.parse(event.time) : NaN;
  return Number.isNaN(time) ? {} : { cycle: new Date(time).toISOString() };
}
