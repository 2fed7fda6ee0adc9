/**
 * KMS errors as the AWS JSON 1.1 protocol carries them: `{"__type": "<name>", "message": ...}`.
 * The names are KMS's own, so SDK callers can branch on `error.name` exactly as against AWS.
 */
export type KmsErrorType =
  | 'AlreadyExistsException'
  | 'IncorrectKeyException'
  | 'InvalidCiphertextException'
  | 'InvalidKeyUsageException'
  | 'NotFoundException'
  | 'SerializationException'
  | 'UnknownOperationException'
  | 'UnsupportedOperationException'
  | 'ValidationException';

export class KmsError extends Error {
  override readonly name = 'KmsError';

  constructor(
    readonly type: KmsErrorType,
    message: string,
  ) {
    super(message);
  }
}
