/**
 * The emulator's ciphertext blob: real AES-256-GCM under the key's secret, with the key id in
 * a clear header (so Decrypt works without a KeyId, as in KMS) and the encryption context as
 * additional authenticated data (so a missing or different context fails, as in KMS).
 *
 * Layout: version (1) | key id, ASCII UUID (36) | IV (12) | GCM tag (16) | ciphertext.
 * The format is the emulator's own; KMS's is opaque too, callers never parse it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KmsError } from './errors';

export type EncryptionContext = Record<string, string>;

const VERSION = 1;
const KEY_ID_LENGTH = 36;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + KEY_ID_LENGTH;
const PREFIX_LENGTH = HEADER_LENGTH + IV_LENGTH + TAG_LENGTH;

export function seal(keyId: string, secret: Buffer, plaintext: Buffer, context: EncryptionContext): Buffer {
  const header = Buffer.concat([Buffer.of(VERSION), Buffer.from(keyId, 'ascii')]);
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  cipher.setAAD(additionalData(header, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
}

/** The id of the key that sealed `blob`; InvalidCiphertextException when it is not one of ours. */
export function sealingKeyId(blob: Buffer): string {
  if (blob.length <= PREFIX_LENGTH || blob[0] !== VERSION) throw invalidCiphertext();
  return blob.subarray(1, HEADER_LENGTH).toString('ascii');
}

export function open(blob: Buffer, secret: Buffer, context: EncryptionContext): Buffer {
  const header = blob.subarray(0, HEADER_LENGTH);
  const iv = blob.subarray(HEADER_LENGTH, HEADER_LENGTH + IV_LENGTH);
  const tag = blob.subarray(HEADER_LENGTH + IV_LENGTH, PREFIX_LENGTH);
  try {
    const decipher = createDecipheriv('aes-256-gcm', secret, iv);
    decipher.setAAD(additionalData(header, context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(blob.subarray(PREFIX_LENGTH)), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
}

/**
 * Header plus the context in a canonical form: pairs sorted by key, every string
 * length-prefixed, so the order of keys never matters and no two contexts share an encoding.
 * An empty context encodes like an absent one, as in KMS.
 */
function additionalData(header: Buffer, context: EncryptionContext): Buffer {
  const parts = [header];
  for (const [key, value] of Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    parts.push(lengthPrefixed(key), lengthPrefixed(value));
  }
  return Buffer.concat(parts);
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

// KMS says nothing about why a ciphertext failed; neither do we.
const invalidCiphertext = (): KmsError => new KmsError('InvalidCiphertextException', '');
