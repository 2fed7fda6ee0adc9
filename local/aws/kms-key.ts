/** Makes sure the key `KMS_KEY_ID` names exists, creating key and alias when it is a new alias. */
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

export interface EnsuredKey {
  /** The key's id (a UUID), whatever form `keyId` had. */
  keyId: string;
  created: boolean;
}

export async function ensureKmsKey(client: KMSClient, keyId: string): Promise<EnsuredKey> {
  try {
    const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
    return { keyId: KeyMetadata!.KeyId!, created: false };
  } catch (error) {
    if ((error as Error).name !== 'NotFoundException') throw error;
    // A key id or ARN cannot be chosen at creation; only an alias can be made to point at a new key.
    if (!keyId.startsWith('alias/')) {
      throw new Error(`KMS key ${keyId} does not exist; set KMS_KEY_ID to alias/<name> to have one created`);
    }
  }
  const { KeyMetadata } = await client.send(
    new CreateKeyCommand({ Description: `Refresh-token data keys (${keyId}), created by provision:local` }),
  );
  const created = KeyMetadata!.KeyId!;
  await client.send(new CreateAliasCommand({ AliasName: keyId, TargetKeyId: created }));
  return { keyId: created, created: true };
}
