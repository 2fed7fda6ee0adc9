/**
 * KMS as the envelope cipher's key service, in memory: real 256-bit data keys, "wrapped" as
 * an opaque id padded to the length of a real KMS CiphertextBlob, bound to its purpose.
 * `MemoryKms` holds the keys; each client (`MemoryDataKeys`) counts its own requests.
 */
import { randomBytes } from 'node:crypto';
import type { DataKeyService } from '../../lib/crypto/envelope';
import type { Meter } from './meter';

/** A KMS CiphertextBlob of an AES-256 data key is about this long. */
const WRAPPED_BYTES = 184;

export class MemoryKms {
  private readonly keys = new Map<string, { plaintext: Buffer; purpose: string }>();
  private next = 0;

  generate(purpose: string): { plaintext: Buffer; wrapped: Buffer } {
    const id = `dk-${this.next++}`;
    const plaintext = randomBytes(32);
    this.keys.set(id, { plaintext, purpose });
    const wrapped = Buffer.alloc(WRAPPED_BYTES);
    wrapped.write(id, 'utf8');
    return { plaintext, wrapped };
  }

  /** @throws like KMS's InvalidCiphertextException for a blob or purpose it does not know. */
  unwrap(wrapped: Buffer, purpose: string): Buffer {
    const end = wrapped.indexOf(0);
    const id = wrapped.subarray(0, end === -1 ? wrapped.length : end).toString('utf8');
    const key = this.keys.get(id);
    if (!key || key.purpose !== purpose)
      throw Object.assign(new Error('The ciphertext refers to a key that does not exist'), {
        name: 'InvalidCiphertextException',
      });
    return key.plaintext;
  }
}

export class MemoryDataKeys implements DataKeyService {
  constructor(
    private readonly kms: MemoryKms,
    private readonly meter?: Meter,
    /** Awaited before answering (latency, CPU): the simulation's hook. */
    private readonly beforeRequest: () => Promise<void> = () => Promise.resolve(),
  ) {}

  async generateDataKey(purpose: string): Promise<{ plaintext: Buffer; wrapped: Buffer }> {
    this.meter?.count(this.meter.kms.requests, 'GenerateDataKey');
    await this.beforeRequest();
    return this.kms.generate(purpose);
  }

  async unwrapDataKey(wrapped: Buffer, purpose: string): Promise<Buffer> {
    this.meter?.count(this.meter.kms.requests, 'Decrypt');
    await this.beforeRequest();
    return this.kms.unwrap(wrapped, purpose);
  }
}
