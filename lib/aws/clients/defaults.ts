/**
 * What every AWS client is built with. The SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself,
 * which is how the local stack and moto plug in. It retries throttling itself; our own
 * retry layer sits above it only in the worker.
 *
 * `cacheMiddleware`: the client resolves each command type's middleware stack once instead
 * of on every call (about a fifth of the SDK's CPU per request, `npm run bench`). We never add
 * middleware to a single command, the one thing the cache would ignore.
 */
export const CLIENT_DEFAULTS = { maxAttempts: 3, cacheMiddleware: true };
