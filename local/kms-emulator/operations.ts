/**
 * The KMS operations the emulator serves: request members in, response members out, shaped
 * as the KMS API reference shapes them (timestamps in epoch seconds, blobs in base64).
 */
import { randomBytes } from 'node:crypto';
import { open, seal, sealingKeyId } from './ciphertext';
import { KmsError } from './errors';
import { encryptionContext, type Input, optionalInteger, optionalString, requiredBlob, requiredString } from './input';
import { ACCOUNT_ID, type KeyStore, type KmsKey } from './keystore';

export type Operation = (input: Input) => object;

const SYMMETRIC_DEFAULT = 'SYMMETRIC_DEFAULT';
const MAX_PLAINTEXT_BYTES = 4096;
const MAX_CIPHERTEXT_BYTES = 6144;
const DATA_KEY_BYTES: Record<string, number> = { AES_256: 32, AES_128: 16 };
const DEFAULT_ROTATION_DAYS = 365;

export function kmsOperations(store: KeyStore): Record<string, Operation> {
  const generateDataKey = (input: Input): { key: KmsKey; plaintext: Buffer; ciphertext: Buffer } => {
    const key = store.findKey(requiredString(input, 'KeyId'));
    const plaintext = randomBytes(dataKeyLength(input));
    return { key, plaintext, ciphertext: seal(key.id, key.secret, plaintext, encryptionContext(input)) };
  };

  return {
    CreateKey: (input) => {
      for (const member of ['KeySpec', 'CustomerMasterKeySpec']) {
        const spec = optionalString(input, member);
        if (spec !== undefined && spec !== SYMMETRIC_DEFAULT) throw unsupported(`${member} ${spec}`);
      }
      const usage = optionalString(input, 'KeyUsage');
      if (usage !== undefined && usage !== 'ENCRYPT_DECRYPT') throw unsupported(`KeyUsage ${usage}`);
      return { KeyMetadata: keyMetadata(store.createKey(optionalString(input, 'Description') ?? '')) };
    },

    DescribeKey: (input) => ({ KeyMetadata: keyMetadata(store.findKey(requiredString(input, 'KeyId'))) }),

    CreateAlias: (input) => {
      store.createAlias(requiredString(input, 'AliasName'), requiredString(input, 'TargetKeyId'));
      return {};
    },

    DeleteAlias: (input) => {
      store.deleteAlias(requiredString(input, 'AliasName'));
      return {};
    },

    ListAliases: (input) => {
      const keyId = optionalString(input, 'KeyId');
      const targetId = keyId === undefined ? undefined : store.findKey(keyId).id;
      const aliases = store.listAliases().filter((alias) => targetId === undefined || alias.targetKeyId === targetId);
      // The marker is simply the offset of the next page.
      const start = Number(optionalString(input, 'Marker') ?? '0') || 0;
      const end = start + (optionalInteger(input, 'Limit', 1, 100) ?? 50);
      const page = aliases.slice(start, end).map((alias) => ({
        AliasName: alias.name,
        AliasArn: alias.arn,
        TargetKeyId: alias.targetKeyId,
        CreationDate: epochSeconds(alias.createdAt),
        LastUpdatedDate: epochSeconds(alias.createdAt),
      }));
      const truncated = end < aliases.length;
      return { Aliases: page, Truncated: truncated, ...(truncated ? { NextMarker: String(end) } : {}) };
    },

    Encrypt: (input) => {
      const key = store.findKey(requiredString(input, 'KeyId'));
      checkAlgorithm(input);
      const plaintext = requiredBlob(input, 'Plaintext', MAX_PLAINTEXT_BYTES);
      const ciphertext = seal(key.id, key.secret, plaintext, encryptionContext(input));
      return { CiphertextBlob: ciphertext.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: SYMMETRIC_DEFAULT };
    },

    Decrypt: (input) => {
      const blob = requiredBlob(input, 'CiphertextBlob', MAX_CIPHERTEXT_BYTES);
      checkAlgorithm(input);
      const key = store.keyById(sealingKeyId(blob));
      // The emulator keeps keys in memory only: a blob from an earlier run names a key it never had.
      if (!key) throw new KmsError('NotFoundException', 'The ciphertext refers to a key this emulator does not hold');
      const requestedKeyId = optionalString(input, 'KeyId');
      if (requestedKeyId !== undefined && store.findKey(requestedKeyId) !== key) {
        throw new KmsError(
          'IncorrectKeyException',
          'The key ID in the request does not identify a CMK that can perform this operation.',
        );
      }
      const plaintext = open(blob, key.secret, encryptionContext(input));
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: SYMMETRIC_DEFAULT };
    },

    GenerateDataKey: (input) => {
      const { key, plaintext, ciphertext } = generateDataKey(input);
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), CiphertextBlob: ciphertext.toString('base64') };
    },

    GenerateDataKeyWithoutPlaintext: (input) => {
      const { key, ciphertext } = generateDataKey(input);
      return { KeyId: key.arn, CiphertextBlob: ciphertext.toString('base64') };
    },

    EnableKeyRotation: (input) => {
      const key = store.findKey(requiredString(input, 'KeyId'));
      key.rotationPeriodInDays = optionalInteger(input, 'RotationPeriodInDays', 90, 2560) ?? DEFAULT_ROTATION_DAYS;
      return {};
    },

    GetKeyRotationStatus: (input) => {
      const key = store.findKey(requiredString(input, 'KeyId'));
      const period = key.rotationPeriodInDays;
      return {
        KeyId: key.arn,
        KeyRotationEnabled: period !== undefined,
        ...(period ? { RotationPeriodInDays: period } : {}),
      };
    },
  };
}

/** `KeySpec` or `NumberOfBytes`: exactly one of the two, as KMS insists. */
function dataKeyLength(input: Input): number {
  const spec = optionalString(input, 'KeySpec');
  const numberOfBytes = optionalInteger(input, 'NumberOfBytes', 1, 1024);
  if ((spec === undefined) === (numberOfBytes === undefined)) {
    throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
  }
  if (numberOfBytes !== undefined) return numberOfBytes;
  const length = DATA_KEY_BYTES[spec!];
  if (length === undefined) {
    throw new KmsError(
      'ValidationException',
      `1 validation error detected: Value '${spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`,
    );
  }
  return length;
}

/** Emulated keys are symmetric, so the only algorithm is SYMMETRIC_DEFAULT. */
function checkAlgorithm(input: Input): void {
  const algorithm = optionalString(input, 'EncryptionAlgorithm');
  if (algorithm !== undefined && algorithm !== SYMMETRIC_DEFAULT) {
    throw new KmsError(
      'InvalidKeyUsageException',
      `The encryption algorithm ${algorithm} is not supported by a symmetric key`,
    );
  }
}

function keyMetadata(key: KmsKey): object {
  return {
    AWSAccountId: ACCOUNT_ID,
    KeyId: key.id,
    Arn: key.arn,
    CreationDate: epochSeconds(key.createdAt),
    Enabled: true,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: SYMMETRIC_DEFAULT,
    KeySpec: SYMMETRIC_DEFAULT,
    EncryptionAlgorithms: [SYMMETRIC_DEFAULT],
    MultiRegion: false,
  };
}

const epochSeconds = (date: Date): number => date.getTime() / 1000;

const unsupported = (what: string): KmsError =>
  new KmsError(
    'UnsupportedOperationException',
    `The KMS emulator only supports symmetric encryption keys, not ${what}`,
  );
