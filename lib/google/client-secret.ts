/**
 * The server's OAuth client, from the `client_secret_*.json` the Google API Console
 * downloads: read from Secrets Manager or a file, once per cold start.
 */
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ClientSecretSource } from '../config';
import { ConfigError, UpstreamUnavailableError } from '../errors';
import { protectConfiguredSecret } from '../redact';

export interface OAuthClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** Parses Google's JSON (`web`, or `installed`). @throws ConfigError naming what is missing. */
export function parseClientSecretJson(text: string, origin: string): OAuthClientCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`${origin} is not JSON in the client_secret_*.json format`);
  }
  const root = parsed as { web?: Record<string, unknown>; installed?: Record<string, unknown> };
  const section = root.web ?? root.installed;
  const clientId = section?.client_id;
  const clientSecret = section?.client_secret;
  if (typeof clientId !== 'string' || !clientId || typeof clientSecret !== 'string' || !clientSecret) {
    throw new ConfigError(`${origin} must hold web.client_id and web.client_secret`);
  }
  protectConfiguredSecret(clientSecret);
  return { clientId, clientSecret };
}

export async function loadClientCredentials(
  source: ClientSecretSource,
  secrets: () => SecretsManagerClient,
): Promise<OAuthClientCredentials> {
  if (source.kind === 'file') {
    const text = await readFile(source.path, 'utf8').catch(() => {
      throw new ConfigError(`GOOGLE_CLIENT_SECRET_FILE: cannot read ${source.path}`);
    });
    return parseClientSecretJson(text, 'GOOGLE_CLIENT_SECRET_FILE');
  }
  let secretString: string | undefined;
  try {
    secretString = (await secrets().send(new GetSecretValueCommand({ SecretId: source.arn }))).SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    if (name === 'ResourceNotFoundException' || name === 'AccessDeniedException') {
      throw new ConfigError(`GOOGLE_CLIENT_SECRET_ARN: secret cannot be read (${name})`);
    }
    throw new UpstreamUnavailableError('Secrets Manager is unavailable', { cause: new Error(name) });
  }
  if (!secretString) throw new ConfigError('GOOGLE_CLIENT_SECRET_ARN: the secret has no value yet');
  return parseClientSecretJson(secretString, 'GOOGLE_CLIENT_SECRET_ARN');
}
