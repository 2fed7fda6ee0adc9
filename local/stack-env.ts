/**
 * The running local stack's environment, shared between processes: `npm start` writes it to
 * `.local/stack-env.json`, and `npm run refresh` / `npm run demo` read it so they talk to that
 * stack without anyone copying variables around. Variables already set always win.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Where the running stack's environment is written; `LOCAL_STACK_ENV_FILE` moves it (tests). */
export const STACK_ENV_FILE =
  process.env.LOCAL_STACK_ENV_FILE ?? join(resolve(__dirname, '..'), '.local', 'stack-env.json');

/** The name the local stack serves the token function under (ACCESS_TOKEN_FUNCTION). */
export const LOCAL_TOKEN_FUNCTION = 'google-offline-access-token';

/** The variables the functions read (DESIGN.md), plus what the tools need to reach the stack. */
const SHARED = [
  'TABLE_NAME',
  'KMS_KEY_ID',
  'REFRESH_QUEUE_URL',
  'GOOGLE_CLIENT_SECRET_FILE',
  'GOOGLE_CLIENT_SECRET_ARN',
  'GOOGLE_ALLOWED_AZP',
  'GOOGLE_REQUIRED_SCOPES',
  'GOOGLE_REDIRECT_URI',
  'GOOGLE_EMULATOR_HOST',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_KMS',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_ENDPOINT_URL_EVENTBRIDGE',
  'EVENT_BUS_NAME',
  'REFRESH_JOBS',
  'DRIVE_PUSH_ADDRESS',
  'DRIVE_PUSH_COALESCE_SECONDS',
  'AWS_ENDPOINT_URL_LAMBDA',
  'ACCESS_TOKEN_FUNCTION',
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
  'POWERTOOLS_METRICS_DISABLED',
  'LOCAL_API_URL',
];

export async function saveStackEnv(env: NodeJS.ProcessEnv): Promise<void> {
  const values = Object.fromEntries(SHARED.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
  await writeFile(STACK_ENV_FILE, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
}

/** Fills `env` from the running stack's file; returns false when no stack has written one. */
export function loadStackEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!existsSync(STACK_ENV_FILE)) return false;
  const values = JSON.parse(readFileSync(STACK_ENV_FILE, 'utf8')) as Record<string, string>;
  for (const [name, value] of Object.entries(values)) env[name] ??= value;
  return true;
}
