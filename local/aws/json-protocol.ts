/** Request plumbing shared by the local stand-ins that speak an AWS JSON protocol (KMS, SQS) and the HTTP API. */
import type { IncomingMessage } from 'node:http';

/** The whole request body, or `undefined` once it passes `maxBytes`. */
export async function readLimitedBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An AWS JSON request body: `{}` when empty; `undefined` when it is not one JSON object. */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const input: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    return typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
