/**
 * `npm start`: the whole product on this machine, offline. Starts (or reuses, when the
 * environment already points at them) DynamoDB, the KMS and SQS emulators, the EventBridge
 * stand-in and the Google emulator; puts the change feed (the table's stream) in front of
 * DynamoDB and runs the connection-events handler on it, printing each event it publishes;
 * provisions the table and key; mounts every Lambda handler behind the local HTTP API on
 * 127.0.0.1:3000; runs the refresh cycle every REFRESH_INTERVAL. Ctrl-C stops it all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startChangeFeed, userRecordsOnly } from './aws/change-feed';
import { startDynamoDb } from './aws/dynamodb';
import { startEventBridgeEmulator, type RecordedEvent } from './eventbridge-emulator';
import { localAwsDefaults } from './aws/local-env';
import { clientSecretJson, DEFAULT_LOCAL_CLIENT, startGoogleEmulator } from './google-emulator';
import { startHttpApi, type Routes } from './http-api';
import { startKmsEmulator } from './kms-emulator';
import { startLambdaInvoke, type InvokeHandler, type LocalFunctions } from './lambda-invoke';
import { provisionLocal } from './provision';
import { startSqsEmulator } from './sqs-emulator';
import { startWebServer, type WebAppConfig } from './web-server';
import { LOCAL_TOKEN_FUNCTION, saveStackEnv, STACK_ENV_FILE } from './stack-env';

const ROOT = resolve(__dirname, '..');

/** Every HTTP route of the contract, with the function folder that serves it. */
const HTTP_ROUTES: Record<string, string> = {
  'POST /authcode': 'exchange',
  'POST /disconnect': 'disconnect',
  'POST /risc': 'risc',
  'GET /connection': 'connection',
  'POST /drive/notifications': 'drive-notifications',
};

/** How often the queue is polled between cycles for early runs (Drive push), as Lambda's event source would. */
const EARLY_RUN_POLL_MS = 1_000;
/** Functions invoked directly (Lambda Invoke), served at AWS_ENDPOINT_URL_LAMBDA, by name and folder. */
const INVOKED_FUNCTIONS: Record<string, string> = {
  [LOCAL_TOKEN_FUNCTION]: 'token',
};

const env = process.env;
const port = (name: string, fallback: number) => Number(env[name] ?? fallback);

export function parseInterval(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`REFRESH_INTERVAL must look like 30s, 5m or 1h, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

async function main(): Promise<void> {
  const started = Date.now();
  const closers: (() => Promise<void>)[] = [];
  const lines: string[] = [];
  Object.assign(env, { ...localAwsDefaults(env), ...pick(env, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) });
  // No CloudWatch here: the metrics' embedded-format lines would only clutter the terminal.
  env.POWERTOOLS_METRICS_DISABLED ??= 'true';

  const useOrStart = async (
    variable: string,
    label: string,
    start: () => Promise<{ url: string; close(): Promise<void> }>,
  ) => {
    if (env[variable]) {
      lines.push(`${label.padEnd(16)} ${env[variable]} (from ${variable})`);
      return;
    }
    const service = await start();
    closers.push(() => service.close());
    env[variable] = service.url;
    lines.push(`${label.padEnd(16)} ${service.url}`);
  };
  await useOrStart('AWS_ENDPOINT_URL_DYNAMODB', 'DynamoDB', () => startDynamoDb({ port: port('DYNAMODB_PORT', 4567) }));
  await useOrStart('AWS_ENDPOINT_URL_KMS', 'KMS', () => startKmsEmulator({ port: port('KMS_PORT', 4599) }));
  await useOrStart('AWS_ENDPOINT_URL_SQS', 'SQS', () => startSqsEmulator({ port: port('SQS_PORT', 9324) }));
  await useOrStart('AWS_ENDPOINT_URL_EVENTBRIDGE', 'EventBridge', () =>
    startEventBridgeEmulator({ port: port('EVENTBRIDGE_PORT', 4010), onEvent: printEvent }),
  );
  // The table's stream: every process of this stack writes through the feed (see stack-env).
  const feed = await startChangeFeed({
    upstream: env.AWS_ENDPOINT_URL_DYNAMODB!,
    port: port('DYNAMODB_STREAM_PROXY_PORT', 4568),
  });
  closers.push(() => feed.close());
  env.AWS_ENDPOINT_URL_DYNAMODB = feed.url;
  lines.push(`Change feed      ${feed.url} (the table's stream; AWS_ENDPOINT_URL_DYNAMODB for this stack)`);

  let googleUrl: string | undefined;
  if (env.GOOGLE_EMULATOR_HOST) {
    googleUrl = `http://${env.GOOGLE_EMULATOR_HOST}`;
    lines.push(`Google emulator  ${googleUrl} (from GOOGLE_EMULATOR_HOST)`);
  } else if (env.GOOGLE_CLIENT_SECRET_FILE || env.GOOGLE_CLIENT_SECRET_ARN) {
    lines.push('Google           the real Google (a client secret is configured and no emulator host)');
  } else {
    const google = await startGoogleEmulator({ port: port('GOOGLE_EMULATOR_PORT', 8085) });
    closers.push(() => google.close());
    env.GOOGLE_EMULATOR_HOST = google.hostPort;
    googleUrl = google.url;
    const dir = join(ROOT, '.local');
    await mkdir(dir, { recursive: true });
    env.GOOGLE_CLIENT_SECRET_FILE = join(dir, 'client_secret.json');
    await writeFile(env.GOOGLE_CLIENT_SECRET_FILE, clientSecretJson(DEFAULT_LOCAL_CLIENT));
    lines.push(`Google emulator  ${google.url}  (client ${DEFAULT_LOCAL_CLIENT.clientId})`);
  }

  env.TABLE_NAME ??= 'google-offline-access-local';
  env.KMS_KEY_ID ??= 'alias/google-offline-access-local';
  await provisionLocal(env, { log: () => undefined });
  if (!env.REFRESH_QUEUE_URL) {
    const sqs = new SQSClient({});
    env.REFRESH_QUEUE_URL = (
      await sqs.send(new CreateQueueCommand({ QueueName: 'google-offline-access-refresh' }))
    ).QueueUrl;
    sqs.destroy();
  }
  lines.push(
    `Table            ${env.TABLE_NAME}`,
    `KMS key          ${env.KMS_KEY_ID}`,
    `Refresh queue    ${env.REFRESH_QUEUE_URL}`,
  );

  // The example web app, on its own origin: the API allows it (and CORS_ORIGINS) by CORS, as the stack's corsOrigins would.
  const webConfig = webAppConfig(googleUrl);
  let web: { url: string; close(): Promise<void> } | undefined;
  if (webConfig) {
    web = await startWebServer(() => ({ ...webConfig, apiUrl: env.LOCAL_API_URL ?? '' }), {
      port: port('WEB_PORT', 3001),
    });
    closers.push(() => web!.close());
  }
  const corsOrigins = [...(web ? [web.url] : []), ...(env.CORS_ORIGINS ?? '').split(',').filter(Boolean)];
  // The API listens before the handlers load (routes are looked up per request): its address is
  // the Drive push address the worker gives Google.
  const routes: Routes = {};
  const api = await startHttpApi(routes, { port: port('PORT', 3000), corsOrigins });
  closers.push(() => api.close());
  env.LOCAL_API_URL = api.url;
  env.REFRESH_JOBS ??= 'appdata-summary,drive-changes';
  // Only the emulator can reach a loopback address; the real Google needs a public HTTPS one.
  if (googleUrl) env.DRIVE_PUSH_ADDRESS ??= `${api.url}/drive/notifications`;
  env.DRIVE_PUSH_COALESCE_SECONDS ??= '2';
  // Handlers read their configuration at load: import them only now that the env is complete.
  for (const [route, folder] of Object.entries(HTTP_ROUTES)) {
    const entry = join(ROOT, 'functions', folder, 'index.ts');
    if (existsSync(entry)) routes[route] = ((await import(entry)) as { handler: Routes[string] }).handler;
  }
  // As Lambda's event source mapping does in AWS: the real handler on the table's stream.
  const { handler: publishConnectionEvents } = (await import(
    join(ROOT, 'functions', 'connection-events', 'index.ts')
  )) as { handler: Parameters<ReturnType<typeof feed.enableStream>['attach']>[0] };
  const consumer = feed.enableStream(env.TABLE_NAME, userRecordsOnly).attach(publishConnectionEvents, {
    onFailure: (records) => console.error(`connection events: ${records.length} change(s) sent to the on-failure list`),
  });
  closers.push(() => consumer.stop());

  // The token function has no route: jobs, the client and the CLI invoke it (Lambda Invoke API).
  const invoked: LocalFunctions = {};
  for (const [name, folder] of Object.entries(INVOKED_FUNCTIONS)) {
    const entry = join(ROOT, 'functions', folder, 'index.ts');
    if (existsSync(entry)) invoked[name] = ((await import(entry)) as { handler: InvokeHandler }).handler;
  }
  const invoke = await startLambdaInvoke(invoked, { port: port('LAMBDA_PORT', 3002) });
  closers.push(() => invoke.close());
  env.AWS_ENDPOINT_URL_LAMBDA = invoke.url;
  env.ACCESS_TOKEN_FUNCTION ??= LOCAL_TOKEN_FUNCTION;
  await mkdir(join(ROOT, '.local'), { recursive: true });
  await saveStackEnv(env);
  closers.unshift(() => rm(STACK_ENV_FILE, { force: true }));

  const intervalMs = parseInterval(env.REFRESH_INTERVAL ?? '5m');
  const { runRefreshCycle, runEarlyRuns } = await import('./refresh-cycle');
  // Cycles and early runs take turns on one chain, so a cycle's summary counts only its own work.
  let cycle: Promise<unknown> = Promise.resolve();
  let polling = false;
  const timer = setInterval(() => {
    cycle = cycle
      .then(() => runRefreshCycle({ quiet: true }))
      .catch((error: unknown) => console.error('refresh cycle failed:', error));
  }, intervalMs);
  const poller = setInterval(() => {
    if (polling) return;
    polling = true;
    cycle = cycle
      .then(async () => {
        for (const { userId, status } of await runEarlyRuns())
          console.log(`early run (Drive push): ${userId} ${status}`);
      })
      .catch((error: unknown) => console.error('early run failed:', error))
      .finally(() => (polling = false));
  }, EARLY_RUN_POLL_MS);
  closers.unshift(async () => {
    clearInterval(timer);
    clearInterval(poller);
    await cycle;
  });

  console.log(`\nGoogle offline access — local stack up in ${Date.now() - started} ms\n`);
  console.log(`HTTP API         ${api.url}  (${Object.keys(routes).join(', ')})`);
  console.log(`Lambda Invoke    ${invoke.url}  (${Object.keys(invoked).join(', ')}; AWS_ENDPOINT_URL_LAMBDA)`);
  if (web) console.log(`Web app          ${web.url}  (open it in a browser; CORS allows it)`);
  else console.log('Web app          not served: it needs the Google emulator or GOOGLE_CLIENT_SECRET_FILE');
  for (const line of lines) console.log(line);
  console.log(
    `Refresh cycle    every ${env.REFRESH_INTERVAL ?? '5m'} (REFRESH_INTERVAL); run one now with: npm run refresh`,
  );
  if (googleUrl) {
    console.log('\nSign a user in (the emulator plays Google Sign-In, the curl plays the app):\n');
    console.log(
      `  code=$(curl -s -X POST ${googleUrl}/emulator/authorize -H 'content-type: application/json' ` +
        `-d '{"sub":"1001","email":"ada@example.com","name":"Ada Lovelace"}' | sed -E 's/.*"code":"([^"]+)".*/\\1/') && ` +
        `curl -s -X POST ${api.url}/authcode -H 'X-Requested-With: XMLHttpRequest' --data-urlencode "authCode=$code"; echo`,
    );
    console.log('\nOr walk through the whole flow: npm run demo');
    if (env.DRIVE_PUSH_ADDRESS) {
      console.log(
        `Drive push is on (${env.DRIVE_PUSH_ADDRESS}): after a user's first refresh, a file the app writes to\n` +
          "their app data folder reaches the backend within seconds ('early run' and 'event' lines below).",
      );
    }
  }
  console.log(`\nnpm run refresh, npm run demo and npm run ops find this stack through ${STACK_ENV_FILE}.`);
  console.log('Ctrl-C stops everything.');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    for (const close of closers.reverse()) await close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/** Where the page gets Google Identity Services and which client ID it uses; undefined when unknown. */
function webAppConfig(googleUrl: string | undefined): Omit<WebAppConfig, 'apiUrl'> | undefined {
  if (googleUrl && env.GOOGLE_CLIENT_SECRET_FILE) {
    return { gisScriptUrl: `${googleUrl}/gsi/client`, clientId: clientIdOf(env.GOOGLE_CLIENT_SECRET_FILE) };
  }
  if (env.GOOGLE_CLIENT_SECRET_FILE) {
    return {
      gisScriptUrl: 'https://accounts.google.com/gsi/client',
      clientId: clientIdOf(env.GOOGLE_CLIENT_SECRET_FILE),
    };
  }
  return undefined;
}

function clientIdOf(file: string): string {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { web?: { client_id?: string } };
  return json.web?.client_id ?? DEFAULT_LOCAL_CLIENT.clientId;
}

/** One console line per event published: a connection change as a transition, anything else as its detail. */
function printEvent(event: RecordedEvent): void {
  if (event.detailType === 'Connection Status Changed') {
    const detail = event.detail as { userId?: string; previousStatus?: string; status?: string; reason?: string };
    console.log(
      `event  ${event.detailType}  user ${String(detail.userId)}: ${String(detail.previousStatus)} → ${String(detail.status)}` +
        (detail.reason ? ` (${detail.reason})` : ''),
    );
    return;
  }
  console.log(`event  ${event.detailType} on ${event.eventBusName}: ${JSON.stringify(event.detail)}`);
}

function pick(source: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (source[name] ? [[name, source[name]]] : [])));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
