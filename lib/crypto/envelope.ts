/**
 * Envelope encryption of refresh tokens: AES-256-GCM under a KMS data key, with the
 * user ID and purpose as additional authenticated data, so a ciphertext copied onto
 * another user's record fails to decrypt. The data key is wrapped by KMS under the
 * encryption context `{ purpose }` and stored beside the ciphertext.
 *
 * Blob layout (version 1):
 *   [0x01][u16 wrapped-key length][wrapped key][12-byte IV][16-byte tag][ciphertext]
 *
 * Data keys are cached (bounded in age and use count) on both sides, so refreshing a
 * thousand users costs a handful of KMS requests, not a thousand.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** The purpose (KMS encryption context and AAD) of stored refresh tokens. */
export const TOKEN_PURPOSE = 'google-refresh-token';

/** The purpose of access tokens the token function caches: its own KMS context, so a key grant for one is not one for the other. */
export const ACCESS_TOKEN_PURPOSE = 'google-access-token';

/** The cipher port: what the domain encrypts and decrypts tokens with. */
export interface TokenCipher {
  encrypt(plaintext: string, userId: string): Promise<Buffer>;
  /** @throws CiphertextError when the blob is malformed, tampered with or bound to another user. */
  decrypt(blob: Uint8Array, userId: string): Promise<string>;
}

/** The key service port (KMS): 256-bit data keys wrapped under the encryption context `{ purpose }`. */
export interface DataKeyService {
  generateDataKey(purpose: string): Promise<{ plaintext: Buffer; wrapped: Buffer }>;
  unwrapDataKey(wrapped: Buffer, purpose: string): Promise<Buffer>;
}
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface TokenCipherOptions {
  /** Reuse one data key for at most this long (default 5 minutes). */
  dataKeyMaxAgeMs?: number;
  /** Reuse one data key for at most this many encryptions (default 10,000). */
  dataKeyMaxUses?: number;
  /** Unwrapped keys kept for decryption (default 256). */
  decryptCacheSize?: number;
  /** How long an unwrapped key is reused for decryption (default three times `dataKeyMaxAgeMs`). */
  decryptCacheMaxAgeMs?: number;
  now?: () => number;
}

export class CiphertextError extends Error {
  override readonly name = 'CiphertextError';
}

interface CachedDataKey {
  plaintext: Buffer;
  wrapped: Buffer;
  createdAt: number;
  uses: number;
}

export class EnvelopeCipher implements TokenCipher {
  private encryptionKey: Promise<CachedDataKey> | undefined;
  private readonly unwrapped = new Map<string, { key: Promise<Buffer>; createdAt: number }>();
  private readonly maxAgeMs: number;
  private readonly maxUses: number;
  private readonly decryptCacheSize: number;
  private readonly decryptCacheMaxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly dataKeys: DataKeyService,
    options: TokenCipherOptions = {},
    private readonly purpose: string = TOKEN_PURPOSE,
  ) {
    this.maxAgeMs = options.dataKeyMaxAgeMs ?? 5 * 60_000;
    this.maxUses = options.dataKeyMaxUses ?? 10_000;
    this.decryptCacheSize = options.decryptCacheSize ?? 256;
    this.decryptCacheMaxAgeMs = options.decryptCacheMaxAgeMs ?? this.maxAgeMs * 3;
    this.now = options.now ?? Date.now;
  }

  async encrypt(plaintext: string, userId: string): Promise<Buffer> {
    const dataKey = await this.currentDataKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, iv);
    cipher.setAAD(aad(this.purpose, userId));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const header = Buffer.alloc(3);
    header.writeUInt8(VERSION, 0);
    header.writeUInt16BE(dataKey.wrapped.length, 1);
    return Buffer.concat([header, dataKey.wrapped, iv, cipher.getAuthTag(), body]);
  }

  async decrypt(blob: Uint8Array, userId: string): Promise<string> {
    const { wrapped, iv, tag, body } = parseBlob(Buffer.from(blob));
    const key = await this.unwrap(wrapped);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(aad(this.purpose, userId));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new CiphertextError('Refresh token ciphertext does not authenticate for this user');
    }
  }

  private currentDataKey(): Promise<CachedDataKey> {
    const pending = this.encryptionKey;
    if (pending) {
      return pending.then((key) => {
        if (key.uses < this.maxUses && this.now() - key.createdAt < this.maxAgeMs) {
          key.uses += 1;
          return key;
        }
        if (this.encryptionKey === pending) this.encryptionKey = undefined;
        return this.currentDataKey();
      });
    }
    const fresh = this.generateDataKey();
    this.encryptionKey = fresh;
    fresh.catch(() => {
      if (this.encryptionKey === fresh) this.encryptionKey = undefined;
    });
    return fresh.then((key) => {
      key.uses += 1;
      return key;
    });
  }

  private async generateDataKey(): Promise<CachedDataKey> {
    const { plaintext, wrapped } = await this.dataKeys.generateDataKey(this.purpose);
    // The key we just created decrypts its own ciphertexts without another KMS call.
    this.remember(wrapped, Promise.resolve(plaintext));
    return { plaintext, wrapped, createdAt: this.now(), uses: 0 };
  }

  private unwrap(wrapped: Buffer): Promise<Buffer> {
    const id = createHash('sha256').update(wrapped).digest('base64');
    const cached = this.unwrapped.get(id);
    if (cached && this.now() - cached.createdAt < this.decryptCacheMaxAgeMs) return cached.key;
    const key = this.dataKeys.unwrapDataKey(wrapped, this.purpose);
    this.remember(wrapped, key, id);
    key.catch(() => this.unwrapped.delete(id));
    return key;
  }

  private remember(wrapped: Buffer, key: Promise<Buffer>, id = createHash('sha256').update(wrapped).digest('base64')) {
    if (this.unwrapped.size >= this.decryptCacheSize) {
      const oldest = this.unwrapped.keys().next().value;
      if (oldest !== undefined) this.unwrapped.delete(oldest);
    }
    this.unwrapped.set(id, { key, createdAt: this.now() });
  }
}

function aad(purpose: string, userId: string): Buffer {
  return Buffer.from(`${purpose}\u0000${userId}`, 'utf8');
}

function parseBlob(blob: Buffer): { wrapped: Buffer; iv: Buffer; tag: Buffer; body: Buffer } {
  if (blob.length < 3 || blob.readUInt8(0) !== VERSION) throw new CiphertextError('Unknown ciphertext version');
  const wrappedLength = blob.readUInt16BE(1);
  const ivStart = 3 + wrappedLength;
  const bodyStart = ivStart + IV_BYTES + TAG_BYTES;
  if (blob.length <= bodyStart) throw new CiphertextError('Truncated ciphertext');
  return {
    wrapped: blob.subarray(3, ivStart),
    iv: blob.subarray(ivStart, ivStart + IV_BYTES),
    tag: blob.subarray(ivStart + IV_BYTES, bodyStart),
    body: blob.subarray(bodyStart),
  };
}

/** RISC identifiers: base64(SHA-512(SHA-512(token))) and a hash of the 16-character prefix. */
export function tokenHashes(refreshToken: string): { tokenHash: string; tokenPrefixHash: string } {
  return { tokenHash: riscTokenHash(refreshToken), tokenPrefixHash: prefixHash(refreshToken.slice(0, 16)) };
}

export function riscTokenHash(token: string): string {
  const inner = createHash('sha512').update(token, 'utf8').digest();
  return createHash('sha512').update(inner).digest('base64');
}

export function prefixHash(prefix: string): string {
  return createHash('sha256').update(`risc-prefix\u0000${prefix}`, 'utf8').digest('base64');
}
