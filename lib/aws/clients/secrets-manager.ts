/** The SecretsManagerClient, created once per execution environment (its own module, so a bundle carries only the clients its function uses). */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CLIENT_DEFAULTS } from './defaults';

let client: SecretsManagerClient | undefined;

export const secretsClient = (): SecretsManagerClient => (client ??= new SecretsManagerClient(CLIENT_DEFAULTS));
