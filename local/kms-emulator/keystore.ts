/**
 * The emulator's keys and aliases, in memory. Resolves a `KeyId` the way KMS does: key id,
 * key ARN, `alias/<name>` or alias ARN; anything else is a NotFoundException.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { KmsError } from './errors';

/** The account every emulated ARN carries (as LocalStack does; moto uses 123456789012). */
export const ACCOUNT_ID = '000000000000';

export interface KmsKey {
  readonly id: string;
  readonly arn: string;
  readonly description: string;
  readonly createdAt: Date;
  /** AES-256 key material; never leaves the emulator. */
  readonly secret: Buffer;
  /** Set while automatic rotation is enabled (the emulator records it, it never rotates). */
  rotationPeriodInDays?: number;
}

export interface KmsAlias {
  readonly name: string;
  readonly arn: string;
  readonly targetKeyId: string;
  readonly createdAt: Date;
}

const KEY_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALIAS_NAME_PATTERN = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

export class KeyStore {
  private readonly keys = new Map<string, KmsKey>();
  private readonly aliases = new Map<string, KmsAlias>();
  private readonly arnPrefix: string;

  constructor(region: string) {
    this.arnPrefix = `arn:aws:kms:${region}:${ACCOUNT_ID}:`;
  }

  createKey(description: string): KmsKey {
    const id = randomUUID();
    const key: KmsKey = { id, arn: this.keyArn(id), description, createdAt: new Date(), secret: randomBytes(32) };
    this.keys.set(id, key);
    return key;
  }

  createAlias(name: string, targetKeyId: string): void {
    if (!name.startsWith('alias/')) {
      throw new KmsError('ValidationException', 'Alias must start with the prefix "alias/"');
    }
    if (!ALIAS_NAME_PATTERN.test(name)) {
      throw new KmsError(
        'ValidationException',
        `1 validation error detected: Value '${name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`,
      );
    }
    if (isAliasReference(targetKeyId)) {
      throw new KmsError('ValidationException', 'Aliases must refer to keys. Not aliases');
    }
    const target = this.findKey(targetKeyId);
    const arn = this.arnPrefix + name;
    if (this.aliases.has(name)) {
      throw new KmsError('AlreadyExistsException', `An alias with the name ${arn} already exists`);
    }
    this.aliases.set(name, { name, arn, targetKeyId: target.id, createdAt: new Date() });
  }

  deleteAlias(name: string): void {
    if (!this.aliases.delete(name)) throw this.aliasNotFound(name);
  }

  /** The key a request's `KeyId` names. */
  findKey(keyId: string): KmsKey {
    const aliasName = this.aliasName(keyId);
    if (aliasName !== undefined) {
      const alias = this.aliases.get(aliasName);
      if (!alias) throw this.aliasNotFound(aliasName);
      return this.keys.get(alias.targetKeyId)!;
    }
    const id = keyId.startsWith(this.arnPrefix + 'key/') ? keyId.slice(this.arnPrefix.length + 4) : keyId;
    if (!KEY_ID_PATTERN.test(id)) throw new KmsError('NotFoundException', `Invalid keyId ${keyId}`);
    const key = this.keys.get(id.toLowerCase());
    if (!key) throw new KmsError('NotFoundException', `Key '${this.keyArn(id)}' does not exist`);
    return key;
  }

  /** The key with this exact id, if any (ciphertext headers carry ids). */
  keyById(id: string): KmsKey | undefined {
    return this.keys.get(id);
  }

  listAliases(): KmsAlias[] {
    return [...this.aliases.values()];
  }

  private aliasNotFound(name: string): KmsError {
    return new KmsError('NotFoundException', `Alias ${this.arnPrefix}${name} is not found.`);
  }

  private keyArn(id: string): string {
    return `${this.arnPrefix}key/${id}`;
  }

  /** `alias/x` for an alias name or one of our alias ARNs, otherwise undefined. */
  private aliasName(keyId: string): string | undefined {
    if (keyId.startsWith('alias/')) return keyId;
    if (keyId.startsWith(this.arnPrefix + 'alias/')) return keyId.slice(this.arnPrefix.length);
    return undefined;
  }
}

function isAliasReference(keyId: string): boolean {
  return keyId.startsWith('alias/') || (keyId.startsWith('arn:') && keyId.includes(':alias/'));
}
