/**
 * Which deployment the CLI talks to, in this order: `--stack <name>` (its CloudFormation
 * outputs, with the caller's AWS credentials), else the environment as the functions read it
 * (`TABLE_NAME`, `KMS_KEY_ID`, ...), else the running `npm start` stack (its env file).
 * The result is written into `process.env`, where the functions' own wiring reads it.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { loadStackEnv, STACK_ENV_FILE } from '../local/stack-env';

export interface Target {
  /** Shown to the operator: which deployment this is. */
  description: string;
  kind: 'stack' | 'environment' | 'local';
}

/** A problem the operator can fix; printed without a stack trace. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Stack outputs → the variables the functions read. */
const OUTPUT_VARIABLES: Record<string, string> = {
  TableName: 'TABLE_NAME',
  TokenKeyArn: 'KMS_KEY_ID',
  ClientSecretArn: 'GOOGLE_CLIENT_SECRET_ARN',
  RefreshQueueUrl: 'REFRESH_QUEUE_URL',
  TokenFunctionArn: 'ACCESS_TOKEN_FUNCTION',
};

export async function resolveTarget(
  options: { stack?: string; region?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Target> {
  if (options.region) env.AWS_REGION = options.region;
  if (options.stack) return fromStack(options.stack, env);
  if (env.TABLE_NAME) return { kind: 'environment', description: `the environment (table ${env.TABLE_NAME})` };
  if (loadStackEnv(env)) return { kind: 'local', description: `the npm start stack (table ${env.TABLE_NAME ?? '?'})` };
  throw new UsageError(
    'No target. Pass --stack <name> (a deployed stack, read with your AWS credentials), set TABLE_NAME ' +
      '(and KMS_KEY_ID, GOOGLE_CLIENT_SECRET_ARN, REFRESH_QUEUE_URL for refresh and disconnect) as the ' +
      `functions read them, or start the local stack with \`npm start\` (it writes ${STACK_ENV_FILE}).`,
  );
}

async function fromStack(stackName: string, env: NodeJS.ProcessEnv): Promise<Target> {
  const cloudFormation = new CloudFormationClient({});
  try {
    const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = out.Stacks?.[0]?.Outputs ?? [];
    for (const { OutputKey, OutputValue } of outputs) {
      const variable = OutputKey ? OUTPUT_VARIABLES[OutputKey] : undefined;
      if (variable && OutputValue) env[variable] = OutputValue;
    }
    if (!outputs.some((output) => output.OutputKey === 'TableName'))
      throw new UsageError(`Stack ${stackName} has no TableName output: is it a google-offline-access stack?`);
    // A deployed stack reads its client secret from Secrets Manager and talks to the real Google.
    delete env.GOOGLE_CLIENT_SECRET_FILE;
    delete env.GOOGLE_EMULATOR_HOST;
    return { kind: 'stack', description: `stack ${stackName} (table ${env.TABLE_NAME ?? '?'})` };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if ((error as { name?: string }).name === 'ValidationError')
      throw new UsageError(`Stack ${stackName} was not found in ${env.AWS_REGION ?? 'the default region'}`);
    throw error;
  } finally {
    cloudFormation.destroy();
  }
}

/** An AWS error the operator can act on, as one clear line; `undefined` for anything else. */
export function explainAwsError(error: unknown): string | undefined {
  const { name = '', message = '' } = (error ?? {}) as { name?: string; message?: string };
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message))
    return 'No AWS credentials found. Sign in (aws sso login, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and try again.';
  if (/ExpiredToken|RequestExpired/.test(name)) return 'Your AWS credentials have expired. Sign in again.';
  if (/UnrecognizedClient|InvalidClientTokenId|InvalidSignature|SignatureDoesNotMatch/.test(name))
    return 'AWS rejected your credentials (unknown or wrong keys).';
  if (/AccessDenied/.test(name)) return `AWS denied the request: ${message}`;
  if (name === 'ResourceNotFoundException') return `Not found: ${message}`;
  if (/Region is missing/i.test(message)) return 'No AWS region: pass --region or set AWS_REGION.';
  return undefined;
}
