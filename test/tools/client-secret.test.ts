/**
 * The server's client secret from Secrets Manager (moto over HTTP) or a file, in the
 * `client_secret_*.json` format the Google API Console downloads.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../../lib/errors';
import { loadClientCredentials } from '../../lib/google/client-secret';
import { startMoto } from '../../local/aws/moto';
import type { LocalService } from '../../local/aws/local-service';

const CONSOLE_JSON = JSON.stringify({
  web: {
    client_id: '123-server.apps.googleusercontent.com',
    project_id: 'demo',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    client_secret: 'GOCSPX-server-secret',
  },
});

let moto: LocalService | undefined;
let secrets: SecretsManagerClient;

beforeAll(async () => {
  if (!process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER) moto = await startMoto();
  secrets = new SecretsManagerClient({ endpoint: process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? moto!.url });
});

afterAll(async () => {
  secrets.destroy();
  await moto?.close();
});

const createSecret = async (value: string) =>
  (
    await secrets.send(
      new CreateSecretCommand({ Name: `client-secret-${Math.random().toString(36).slice(2)}`, SecretString: value }),
    )
  ).ARN!;

describe('client secret', () => {
  it('reads web.client_id and web.client_secret from Secrets Manager', async () => {
    const arn = await createSecret(CONSOLE_JSON);
    await expect(loadClientCredentials({ kind: 'secretsManager', arn }, () => secrets)).resolves.toEqual({
      clientId: '123-server.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-server-secret',
    });
  });

  it('reads the same JSON from a file', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'goa-')), 'client_secret_123.json');
    await writeFile(path, CONSOLE_JSON);
    await expect(loadClientCredentials({ kind: 'file', path }, () => secrets)).resolves.toMatchObject({
      clientId: '123-server.apps.googleusercontent.com',
    });
  });

  it('names the variable when the secret is missing or malformed, without echoing its value', async () => {
    const missing = loadClientCredentials(
      { kind: 'secretsManager', arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf' },
      () => secrets,
    );
    await expect(missing).rejects.toThrow(ConfigError);
    await expect(missing).rejects.toThrow('GOOGLE_CLIENT_SECRET_ARN');
    const malformed = loadClientCredentials(
      { kind: 'secretsManager', arn: await createSecret('{"web":{"client_id":"x"}}') },
      () => secrets,
    );
    await expect(malformed).rejects.toThrow('GOOGLE_CLIENT_SECRET_ARN must hold web.client_id and web.client_secret');
    const notJson = loadClientCredentials(
      { kind: 'secretsManager', arn: await createSecret('GOCSPX-plain-value') },
      () => secrets,
    );
    await expect(notJson).rejects.not.toThrow('GOCSPX-plain-value');
  });
});
