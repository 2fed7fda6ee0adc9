/**
 * What every AWS client is built with. The SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself,
 * which is how the local stack and moto plug in. It retries throttling itself; our own
 * retry layer sits above it only in the worker.
 */
export const CLIENT_DEFAULTS = { maxAttempts: 3 };
