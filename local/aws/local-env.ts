/**
 * Environment for talking to local AWS stand-ins: endpoints from `AWS_ENDPOINT_URL_<SERVICE>`
 * (the SDK's own variables), a region, and fake credentials (the stand-ins check no signature).
 */
export type Env = Record<string, string | undefined>;

export type LocalAwsService = 'DYNAMODB' | 'KMS' | 'SQS' | 'SECRETS_MANAGER';

const DEFAULT_REGION = 'us-east-1';
const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Variables every process talking to stand-ins needs; an already chosen region is kept. */
export function localAwsDefaults(env: Env): Record<string, string> {
  return {
    AWS_REGION: env.AWS_REGION ?? DEFAULT_REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * SDK client settings for one service, read from `env` rather than `process.env` so callers
 * can pass any environment. Refuses when no endpoint is set: local tooling never reaches real AWS.
 */
export function localClientConfig(
  env: Env,
  service: LocalAwsService,
): { endpoint: string; region: string; credentials: typeof FAKE_CREDENTIALS } {
  const variable = `AWS_ENDPOINT_URL_${service}`;
  const endpoint = env[variable] ?? env.AWS_ENDPOINT_URL;
  if (!endpoint)
    throw new Error(`${variable} is not set: local tooling only talks to local stand-ins (moto, emulators)`);
  return { endpoint, region: env.AWS_REGION ?? DEFAULT_REGION, credentials: FAKE_CREDENTIALS };
}
