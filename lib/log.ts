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
  if (!(error instanceof Error)) return { message: redactText(String(error)) };
  const described: Record<string, unknown> = { name: error.name, message: redactText(error.message) };
  const extra = error as Error & { code?: unknown; status?: unknown; googleError?: unknown };
  if (typeof extra.code === 'string' || typeof extra.code === 'number') described.errorCode = extra.code;
  if (typeof extra.status === 'number') described.status = extra.status;
  if (typeof extra.googleError === 'string') described.googleError = extra.googleError;
  if (error.cause !== undefined) described.cause = describeError(error.cause);
  return described;
}
