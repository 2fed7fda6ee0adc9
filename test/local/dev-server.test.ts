/**
 * `npm start` as a new user runs it: the whole stack comes up on loopback, a sign-in works
 * through it, and Ctrl-C (SIGINT) stops everything cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

const ROOT = join(__dirname, '..', '..');
let child: ChildProcess;
let output = '';

const waitFor = (pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${String(pattern)}:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const match = pattern.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(match);
    };
    child.stdout!.on('data', check);
    check();
  });

beforeAll(() => {
  const ports = {
    PORT: '0',
    GOOGLE_EMULATOR_PORT: '0',
    KMS_PORT: '0',
    SQS_PORT: '0',
    DYNAMODB_PORT: '0',
    EVENTBRIDGE_PORT: '0',
    DYNAMODB_STREAM_PROXY_PORT: '0',
    LAMBDA_PORT: '0',
    WEB_PORT: '0',
  };
  const env: NodeJS.ProcessEnv = { ...process.env, ...ports, REFRESH_INTERVAL: '1h', POWERTOOLS_LOG_LEVEL: 'WARN' };
  // A new user's shell: no stack variables, unless the suite runs against moto (then it reuses it).
  for (const name of [
    'TABLE_NAME',
    'KMS_KEY_ID',
    'REFRESH_QUEUE_URL',
    'GOOGLE_CLIENT_SECRET_FILE',
    'GOOGLE_EMULATOR_HOST',
    'AWS_ENDPOINT_URL_EVENTBRIDGE',
  ]) {
    delete env[name];
  }
  child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'local/dev-server.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
});

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

/** `npm run refresh` against the running stack (found through .local/stack-env.json). */
function runRefresh(): Promise<void> {
  return new Promise((resolve, reject) => {
    const refresh = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'local/refresh-cycle.ts')],
      { cwd: ROOT, env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' }, stdio: 'ignore' },
    );
    refresh.once('exit', (status) =>
      status === 0 ? resolve() : reject(new Error(`npm run refresh exited ${status}`)),
    );
  });
}

describe('npm start', () => {
  it('starts the stack on loopback, serves a sign-in, and stops cleanly on Ctrl-C', async () => {
    await waitFor(/local stack up in \d+ ms/);
    const api = (await waitFor(/HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const google = (await waitFor(/Google emulator\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    await waitFor(/Ctrl-C stops everything/);
    expect(output).not.toMatch(/0\.0\.0\.0|localhost:/);

    const { code } = (await (
      await fetch(`${google}/emulator/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sub: 'dev-1' }),
      })
    ).json()) as { code: string };
    const response = await fetch(`${api}/authcode`, {
      method: 'POST',
      headers: { 'x-requested-with': 'test', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ authCode: code }).toString(),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ userId: 'dev-1', offlineAccess: true });
    // The table's stream reached the connection-events handler, which published the change.
    await waitFor(/event {2}Connection Status Changed {2}user dev-1: not_connected → active/);

    // The token function, through the Lambda Invoke endpoint, with the real Lambda client.
    const invoke = (await waitFor(/Lambda Invoke\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const lambda = new LambdaClient({
      endpoint: invoke,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const invoked = await lambda.send(
      new InvokeCommand({
        FunctionName: 'google-offline-access-token',
        Payload: new TextEncoder().encode(JSON.stringify({ userId: 'dev-1' })),
      }),
    );
    lambda.destroy();
    const answer = JSON.parse(new TextDecoder().decode(invoked.Payload)) as Record<string, unknown>;
    expect(answer).toMatchObject({ accessToken: expect.any(String), expiresAt: expect.any(String) });

    // The web app on its own origin, configured for the emulator and this API, which allows it by CORS.
    const web = (await waitFor(/Web app\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const page = await fetch(web);
    expect(page.headers.get('content-security-policy')).toContain(`script-src 'self' ${google}`);
    expect(await page.text()).toContain('<script src="config.js">');
    expect(await (await fetch(`${web}/config.js`)).text()).toContain(
      JSON.stringify(
        {
          gisScriptUrl: `${google}/gsi/client`,
          clientId: 'local-server-client.apps.googleusercontent.com',
          apiUrl: api,
        },
        null,
        2,
      ),
    );
    expect((await fetch(`${web}/../package.json`)).status).toBe(404);
    const preflight = await fetch(`${api}/connection`, {
      method: 'OPTIONS',
      headers: {
        origin: web,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(web);
    const idToken = (await (
      await fetch(`${google}/emulator/id-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sub: 'dev-1' }),
      })
    ).json()) as { idToken: string };
    const connection = await fetch(`${api}/connection`, { headers: { authorization: `Bearer ${idToken.idToken}` } });
    expect(await connection.json()).toMatchObject({ userId: 'dev-1', status: 'active' });

    // Drive push, end to end: a refresh opens the user's watch channel; a file the app then
    // writes reaches the backend through the emulator's notification and an early run.
    await runRefresh();
    await fetch(`${google}/emulator/drive/dev-1/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pushed.json', size: 3 }),
    });
    await waitFor(/event {2}Drive Changes on default: \{"userId":"dev-1","changes":\[\{"fileId"/);
    await waitFor(/early run \(Drive push\): dev-1 refreshed/);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (status) => resolve(status)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`${api}/authcode`, { method: 'POST' })).rejects.toThrow();
  }, 60_000);
});
