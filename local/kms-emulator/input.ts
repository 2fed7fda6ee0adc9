/**
 * Readers for request members. JSON bodies can hold anything, so each member is checked and
 * a bad one is a ValidationException worded as KMS words it.
 */
import type { EncryptionContext } from './ciphertext';
import { KmsError } from './errors';

export type Input = Record<string, unknown>;

export function requiredString(input: Input, member: string): string {
  const value = optionalString(input, member);
  if (value === undefined) throw validationError(member, 'Member must not be null', 'null');
  return value;
}

export function optionalString(input: Input, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationError(member, 'Member must be a string');
  return value;
}

export function optionalInteger(input: Input, member: string, min: number, max: number): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validationError(member, `Member must be an integer from ${min} to ${max}`, `'${JSON.stringify(value)}'`);
  }
  return value;
}

/** A base64 blob member (the SDK base64-encodes every Uint8Array). */
export function requiredBlob(input: Input, member: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(requiredString(input, member), 'base64');
  if (bytes.length < 1 || bytes.length > maxBytes) {
    throw validationError(member, `Member must have length between 1 and ${maxBytes}`);
  }
  return bytes;
}

/** `EncryptionContext`: a map of strings; absent is the same as empty, as in KMS. */
export function encryptionContext(input: Input): EncryptionContext {
  const value = input.EncryptionContext;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw validationError('EncryptionContext', 'Member must be a map of strings');
  }
  return value as EncryptionContext;
}

function validationError(member: string, constraint: string, value?: string): KmsError {
  const field = member.charAt(0).toLowerCase() + member.slice(1);
  const subject = value === undefined ? 'Value' : `Value ${value}`;
  return new KmsError(
    'ValidationException',
    `1 validation error detected: ${subject} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}
