/** The KMSClient, created once per execution environment (its own module, so a bundle carries only the clients its function uses). */
import { KMSClient } from '@aws-sdk/client-kms';
import { CLIENT_DEFAULTS } from './defaults';

let client: KMSClient | undefined;

export const kmsClient = (): KMSClient => (client ??= new KMSClient(CLIENT_DEFAULTS));
