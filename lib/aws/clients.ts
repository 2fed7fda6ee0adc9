/**
 * AWS clients, created once per cold start and reused across warm invocations. The SDK
 * reads `AWS_ENDPOINT_URL_<SERVICE>` itself, which is how the local stack and moto plug in.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';

// The SDK retries throttling itself; our own retry layer sits above it only in the worker.
const common = { maxAttempts: 3 };

let dynamo: DynamoDBClient | undefined;
let kms: KMSClient | undefined;
let sqs: SQSClient | undefined;
let secrets: SecretsManagerClient | undefined;
let eventBridge: EventBridgeClient | undefined;

export const dynamoClient = (): DynamoDBClient => (dynamo ??= new DynamoDBClient(common));
export const kmsClient = (): KMSClient => (kms ??= new KMSClient(common));
export const sqsClient = (): SQSClient => (sqs ??= new SQSClient(common));
export const secretsClient = (): SecretsManagerClient => (secrets ??= new SecretsManagerClient(common));
export const eventBridgeClient = (): EventBridgeClient => (eventBridge ??= new EventBridgeClient(common));
