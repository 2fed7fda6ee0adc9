/**
 * The AWS adapters that several functions share, each built once per execution environment
 * from the environment (tests build the same objects against the emulators by setting the
 * environment first). Each client lives in its own module and Google's services in
 * `google.ts`, so that a function carries only what it uses (the dispatcher: DynamoDB and
 * SQS; the KMS cipher is in `cipher.ts`, the revocation queue in `revocation-queue.ts`). Every function's own wiring is in the module beside these that carries its name.
 */
import { dynamoClient } from '../aws/clients/dynamodb';
import { requireEnv } from '../config';
import { once } from '../memo';
import { DynamoExchangeLedger } from '../store/dynamodb/exchange-ledger';
import { DynamoJobStateStore } from '../store/dynamodb/job-state';
import { DynamoRefreshLedger } from '../store/dynamodb/refresh-ledger';
import { DynamoSecurityEventLedger } from '../store/dynamodb/security-event-ledger';
import { DynamoUserStore } from '../store/dynamodb/user-store';

const tableName = once(() => requireEnv('TABLE_NAME'));

export const userStore = once(() => new DynamoUserStore(dynamoClient(), tableName()));
export const refreshLedger = once(() => new DynamoRefreshLedger(dynamoClient(), tableName()));
export const exchangeLedger = once(() => new DynamoExchangeLedger(dynamoClient(), tableName()));
export const securityEventLedger = once(() => new DynamoSecurityEventLedger(dynamoClient(), tableName()));
export const jobStateStore = once(() => new DynamoJobStateStore(dynamoClient(), tableName()));
