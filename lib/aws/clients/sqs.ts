/** The SQSClient, created once per execution environment (its own module, so a bundle carries only the clients its function uses). */
import { SQSClient } from '@aws-sdk/client-sqs';
import { CLIENT_DEFAULTS } from './defaults';

let client: SQSClient | undefined;

export const sqsClient = (): SQSClient => (client ??= new SQSClient(CLIENT_DEFAULTS));
