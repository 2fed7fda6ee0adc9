/**
 * The KMS emulator speaks KMS's wire protocol: the same suite, with the real
 * @aws-sdk/client-kms, runs against the emulator and against moto_server, so a test that
 * passes on the emulator means the same against a KMS implementation we did not write.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import type { LocalService } from '../../local/aws/local-service';
import { startMoto } from '../../local/aws/moto';
import { backendsOfThisTier } from '../support/backends';
import { type KmsEmulator, startKmsEmulator } from '../../local/kms-emulator';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface Target {
  name: string;
  /** Runs in the tools tier (needs moto_server on PATH). */
  moto?: boolean;
  start: () => Promise<LocalService>;
  /** Real KMS says IncorrectKeyException; moto 5.2 says AccessDeniedException. */
  wrongKeyError: string;
}

const targets: Target[] = [
  { name: 'KMS emulator', start: () => startKmsEmulator(), wrongKeyError: 'IncorrectKeyException' },
  { name: 'moto_server', moto: true, start: () => startMoto(), wrongKeyError: 'AccessDeniedException' },
];

const context = { purpose: 'google-refresh-token', tenant: 'a' };
const unique = (): string => `test-${randomBytes(6).toString('hex')}`;

describe.each(backendsOfThisTier(targets))('KMS over the wire: $name', ({ start, wrongKeyError }) => {
  let service: LocalService;
  let kms: KMSClient;
  let keyId: string;
  let keyArn: string;
  let alias: string;

  beforeAll(async () => {
    service = await start();
    kms = new KMSClient({
      endpoint: service.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({
        Description: 'kms-emulator test',
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeySpec: 'SYMMETRIC_DEFAULT',
      }),
    );
    keyId = KeyMetadata!.KeyId!;
    keyArn = KeyMetadata!.Arn!;
    alias = `alias/${unique()}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  }, 30_000);

  afterAll(async () => {
    kms?.destroy();
    await service?.close();
  });

  const newKey = async (): Promise<string> => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;

  it('creates symmetric keys that DescribeKey finds by id, key ARN, alias and alias ARN', async () => {
    expect(keyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(keyArn).toMatch(new RegExp(`^arn:aws:kms:us-east-1:\\d{12}:key/${keyId}$`));
    const aliasArn = keyArn.replace(/key\/.*$/, alias);
    for (const reference of [keyId, keyArn, alias, aliasArn]) {
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: reference }));
      expect(KeyMetadata).toMatchObject({
        KeyId: keyId,
        Arn: keyArn,
        Enabled: true,
        KeyState: 'Enabled',
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeySpec: 'SYMMETRIC_DEFAULT',
      });
      expect(KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    }
  });

  it('lists the alias, also filtered by key', async () => {
    const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(Aliases).toEqual([expect.objectContaining({ AliasName: alias, TargetKeyId: keyId })]);
  });

  it('refuses a second alias of the same name', async () => {
    await expect(kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }))).rejects.toMatchObject({
      name: 'AlreadyExistsException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('deletes an alias, after which it is not found', async () => {
    const doomed = `alias/${unique()}`;
    await kms.send(new CreateAliasCommand({ AliasName: doomed, TargetKeyId: keyId }));
    await kms.send(new DeleteAliasCommand({ AliasName: doomed }));
    await expect(kms.send(new DescribeKeyCommand({ KeyId: doomed }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    await expect(kms.send(new DeleteAliasCommand({ AliasName: doomed }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });

  it('round-trips Encrypt and Decrypt, with or without KeyId, whatever the context key order', async () => {
    const plaintext = Buffer.from('a refresh token');
    const encrypted = await kms.send(
      new EncryptCommand({ KeyId: alias, Plaintext: plaintext, EncryptionContext: context }),
    );
    expect(encrypted.KeyId).toBe(keyArn);
    expect(Buffer.from(encrypted.CiphertextBlob!).includes(plaintext)).toBe(false);

    const reordered = { tenant: 'a', purpose: 'google-refresh-token' };
    for (const request of [{}, { KeyId: keyId }, { KeyId: alias }]) {
      const decrypted = await kms.send(
        new DecryptCommand({ ...request, CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: reordered }),
      );
      expect(Buffer.from(decrypted.Plaintext!)).toEqual(plaintext);
      expect(decrypted.KeyId).toBe(keyArn);
    }
  });

  it('GenerateDataKey returns 32 plaintext bytes and a blob that decrypts to them', async () => {
    const dataKey = await kms.send(
      new GenerateDataKeyCommand({ KeyId: alias, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(dataKey.KeyId).toBe(keyArn);
    expect(dataKey.Plaintext).toHaveLength(32);
    const decrypted = await kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));

    const sized = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64 }));
    expect(sized.Plaintext).toHaveLength(64);
  });

  it('GenerateDataKey wants exactly one of KeySpec and NumberOfBytes', async () => {
    await expect(kms.send(new GenerateDataKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('GenerateDataKeyWithoutPlaintext returns only a blob, which decrypts to a 32-byte key', async () => {
    const dataKey = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(dataKey).not.toHaveProperty('Plaintext');
    const decrypted = await kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }),
    );
    expect(decrypted.Plaintext).toHaveLength(32);
  });

  describe('encryption context is enforced', () => {
    let blob: Uint8Array;

    beforeAll(async () => {
      const encrypted = await kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: context }),
      );
      blob = encrypted.CiphertextBlob!;
    });

    it.each([
      ['missing', undefined],
      ['different value', { ...context, tenant: 'b' }],
      ['extra pair', { ...context, extra: 'x' }],
      ['missing pair', { purpose: context.purpose }],
    ])('%s → InvalidCiphertextException', async (_, encryptionContext) => {
      await expect(
        kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: encryptionContext })),
      ).rejects.toMatchObject({ name: 'InvalidCiphertextException', $metadata: { httpStatusCode: 400 } });
    });

    it('a tampered blob → InvalidCiphertextException', async () => {
      const tampered = Buffer.from(blob);
      tampered[tampered.length - 1]! ^= 1;
      await expect(
        kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })),
      ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    });

    it(`Decrypt naming another key → ${wrongKeyError}`, async () => {
      const otherKeyId = await newKey();
      await expect(
        kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, KeyId: otherKeyId })),
      ).rejects.toMatchObject({ name: wrongKeyError, $metadata: { httpStatusCode: 400 } });
    });
  });

  it.each([`alias/${unique()}`, '00000000-0000-4000-8000-000000000000', 'not-a-key'])(
    'an unknown KeyId (%s) → NotFoundException',
    async (reference) => {
      await expect(kms.send(new DescribeKeyCommand({ KeyId: reference }))).rejects.toMatchObject({
        name: 'NotFoundException',
        $metadata: { httpStatusCode: 400 },
      });
      await expect(
        kms.send(new EncryptCommand({ KeyId: reference, Plaintext: Buffer.from('x') })),
      ).rejects.toMatchObject({ name: 'NotFoundException' });
    },
  );

  it('records key rotation', async () => {
    const rotated = await newKey();
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: rotated }))).KeyRotationEnabled).toBe(false);
    await kms.send(new EnableKeyRotationCommand({ KeyId: rotated }));
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: rotated }))).KeyRotationEnabled).toBe(true);
  });
});

describe('KMS emulator extras', () => {
  let emulator: KmsEmulator;
  let kms: KMSClient;

  beforeAll(async () => {
    emulator = await startKmsEmulator({ region: 'eu-west-3' });
    kms = new KMSClient({
      endpoint: emulator.url,
      region: 'eu-west-3',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    kms.destroy();
    await emulator.close();
  });

  it('counts requests by operation, in process and over HTTP, and resets', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    expect(KeyMetadata!.Arn).toMatch(/^arn:aws:kms:eu-west-3:000000000000:key\//);
    for (let i = 0; i < 3; i += 1) {
      await kms.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata!.KeyId, KeySpec: 'AES_256' }));
    }
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' }))).rejects.toThrow();
    const expected = { CreateKey: 1, GenerateDataKey: 3, DescribeKey: 1 };
    expect(emulator.requestCounts()).toEqual(expected);
    expect(await (await fetch(`${emulator.url}/emulator/counts`)).json()).toEqual(expected);

    emulator.resetCounts();
    expect(emulator.requestCounts()).toEqual({});
    await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }));
    expect((await fetch(`${emulator.url}/emulator/counts`, { method: 'DELETE' })).status).toBe(204);
    expect(emulator.requestCounts()).toEqual({});
  });

  it('answers protocol errors as KMS does', async () => {
    const post = async (target: string, body: string): Promise<{ status: number; json: unknown }> => {
      const response = await fetch(emulator.url, {
        method: 'POST',
        headers: { 'X-Amz-Target': target, 'Content-Type': 'application/x-amz-json-1.1' },
        body,
      });
      return { status: response.status, json: await response.json() };
    };
    expect(await post('TrentService.ScheduleKeyDeletion', '{}')).toEqual({
      status: 400,
      json: { __type: 'UnknownOperationException' },
    });
    expect(await post('TrentService.DescribeKey', '{not json')).toMatchObject({
      status: 400,
      json: { __type: 'SerializationException' },
    });
    expect(await post('TrentService.DescribeKey', '{}')).toMatchObject({
      status: 400,
      json: { __type: 'ValidationException' },
    });
  });
});
