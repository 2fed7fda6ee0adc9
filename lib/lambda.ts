/**
 * Every handler's Lambda edge. Powertools' Logger gets the invocation's context, so each
 * log line carries the request id, function name and cold-start flag (what
 * `injectLambdaContext` does, without a middleware engine in the bundle); keys appended
 * during the invocation are reset after it.
 */
import type { Context } from 'aws-lambda';
import { logger } from './log';

/** Local tools and tests call handlers with a partial context, or none. */
export type LambdaHandler<E, R> = (event: E, context?: Partial<Context>) => Promise<R>;

export function lambdaHandler<E, R>(
  handle: (event: E, context: Partial<Context> | undefined) => Promise<R>,
): LambdaHandler<E, R> {
  return async (event, context) => {
    if (context?.awsRequestId) logger.addContext(context as Context);
    try {
      return await handle(event, context);
    } finally {
      logger.resetKeys();
    }
  };
}
