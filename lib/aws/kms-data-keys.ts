/** KMS as the envelope cipher's key service: GenerateDataKey and Decrypt under `{ purpose }`. */
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { EnvelopeCipher, TOKEN_PURPOSE, type DataKeyService, type TokenCipherOptions } from '../crypto/envelope';

export class KmsDataKeys implements DataKeyService {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async generateDataKey(purpose: string): Promise<{ plaintext: Buffer; wrapped: Buffer }> {
    const out = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { purpose } }),
    );
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
    return { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob) };
  }

  async unwrapDataKey(wrapped: Buffer, purpose: string): Promise<Buffer> {
    const out = await this.kms.send(new DecryptCommand({ CiphertextBlob: wrapped, EncryptionContext: { purpose } }));
    if (!out.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
    return Buffer.from(out.Plaintext);
  }
}

/** An envelope cipher whose data keys come from the KMS key `keyId`. */
export function kmsCipher(
  kms: KMSClient,
  keyId: string,
  options: TokenCipherOptions = {},
  purpose: string = TOKEN_PURPOSE,
): EnvelopeCipher {
  return new EnvelopeCipher(new KmsDataKeys(kms, keyId), options, purpose);
}
