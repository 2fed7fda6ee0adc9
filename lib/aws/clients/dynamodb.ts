/** The DynamoDBClient, created once per execution environment (its own module, so a bundle carries only the clients its function uses). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CLIENT_DEFAULTS } from './defaults';

let client: DynamoDBClient | undefined;

export const dynamoClient = (): DynamoDBClient => (client ??= new DynamoDBClient(CLIENT_DEFAULTS));
