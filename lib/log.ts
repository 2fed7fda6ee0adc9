/**
 * The structured JSON logger (Powertools). Every string that reaches a log line passes
 * through the redactor, so a token embedded in a third-party error cannot leak.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { isSensitiveKey, redactText } from './redact';

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'google-offline-access',
  jsonReplacerFn: (key: string, value: unknown) => {
    if (key && isSensitiveKey(key) && typeof value === 'string') return '[redacted]';
    return typeof value === 'string' ? redactText(value) : value;
  },
});

/** A log-safe description of any thrown value: name, message, status and Google error, never bodies. */
export function describeError(error: unknown): Record<string, unknown> {
  // Duck-typed: errors from Node's own sockets may come from another realm (jest's VM).
  if (typeof error !== 'object' || error === null || typeof (error as Error).message !== 'string') {
    return { message: redactText(String(error)) };
  }
  const { name, message, cause } = error as Error;
  const described: Record<string, unknown> = { name, message: redactText(message) };
  const extra = error as Error & { code?: unknown; status?: unknown; googleError?: unknown };
  if (typeof extra.code === 'string' || typeof extra.code === 'number') described.errorCode = extra.code;
  if (typeof extra.status === 'number') described.status = extra.status;
  if (typeof extra.googleError === 'string') described.googleError = extra.googleError;
  if (cause !== undefined) described.cause = describeError(cause);
  return described;
}
