/** EventBridge schedule → one refresh cycle: every active user onto the refresh queue. */
import type { ScheduledEvent } from 'aws-lambda';
import { lambdaHandler } from '../../lib/lambda';
import { invocationDeadline } from '../../lib/refresh/deadline';
import { refreshDispatchFunction } from '../../lib/runtime/refresh-dispatch';

refreshDispatchFunction.prepare();

/**
 * The cycle is named by the dispatcher's own clock, not the event's `time`: a replayed or
 * hand-made event with an old time would otherwise mark every user "already refreshed".
 */
export const handler = lambdaHandler(async (_event: Partial<ScheduledEvent> | undefined, context) => {
  const deadline = invocationDeadline(context);
  const dispatcher = await refreshDispatchFunction.service();
  return dispatcher.dispatchCycle(deadline !== undefined ? { deadline } : {});
});
