/**
 * The production bundles, built as the stack builds them (esbuild with `infra/bundling.ts`'s
 * options) and each run by a fresh `node` as Lambda runs it, against the local stack: a
 * sign-in through the exchange bundle, its status through the connection bundle, and a whole
 * refresh cycle through the dispatcher and worker bundles. What the suites that run the
 * sources cannot see: a package whose ES module build (which the bundles prefer) behaves
 * differently, or a module left out of the bundle (`NOT_BUNDLED`) that a path reaches.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { esbuildArgs } from '../../infra/bundling';
import { toLambdaRecords } from '../../local/refresh-cycle';
import { startTestStack, type TestStack } from '../support/stack';
import { forgetRefreshCycle, signIn, userStoreOf } from '../support/steps';

const ROOT = resolve(__dirname, '../..');
const FUNCTIONS = ['exchange', 'connection', 'refresh-dispatch', 'refresh-worker'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

let stack: TestStack;
let dir: string;

/** Lambda's runtime, reduced to what a handler sees: a fresh process, the bundle, one event, a context. */
const RUNNER = `
const [bundle, eventFile, resultFile] = process.argv.slice(2);
const { readFileSync, writeFileSync } = require('node:fs');
const deadline = Date.now() + 60_000;
const context = {
  awsRequestId: 'bundle-test', functionName: 'bundle-test', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bundle-test',
  memoryLimitInMB: '512', logGroupName: 'bundle-test', logStreamName: 'bundle-test',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => deadline - Date.now(),
};
Promise.resolve(require(bundle).handler(JSON.parse(readFileSync(eventFile, 'utf8')), context)).then(
  (result) => { writeFileSync(resultFile, JSON.stringify(result ?? null)); process.exit(0); },
  (error) => { console.error(error); process.exit(1); },
);`;

beforeAll(async () => {
  stack = await startTestStack();
  dir = await mkdtemp(join(tmpdir(), 'goa-bundles-'));
  await writeFile(join(dir, 'runner.js'), RUNNER);
  await Promise.all(
    FUNCTIONS.map((name) =>
      promisify(execFile)(
        join(ROOT, 'node_modules/.bin/esbuild'),
        esbuildArgs(join(ROOT, 'functions', name, 'index.ts'), join(dir, name, 'index.js')),
      ),
    ),
  );
});

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let invocations = 0;

/** Invokes one bundle in a fresh `node` (the emulators answer from this process, so never block it). */
async function invoke<T>(name: FunctionName, event: unknown): Promise<T> {
  const id = ++invocations;
  const eventFile = join(dir, `event-${id}.json`);
  const resultFile = join(dir, `result-${id}.json`);
  await writeFile(eventFile, JSON.stringify(event));
  const child = spawn(process.execPath, [join(dir, 'runner.js'), join(dir, name, 'index.js'), eventFile, resultFile], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`the ${name} bundle failed (exit ${code}): ${stderr}`);
  return JSON.parse(await readFile(resultFile, 'utf8')) as T;
}

describe('the production bundles', () => {
  it('sign a user in, answer their connection and refresh them in a whole cycle', async () => {
    // API Gateway's events, from the local HTTP API, each handled by a bundle in a fresh `node`.
    const api = await stack.serve({
      'POST /authcode': (event) => invoke('exchange', event),
      'GET /connection': (event) => invoke('connection', event),
    });
    const sub = 'bundle-user-1';
    expect(await signIn(stack, api, sub)).toMatchObject({ userId: sub, offlineAccess: true });
    const connection = await fetch(`${api.url}/connection`, {
      headers: { authorization: `Bearer ${stack.google.signIdToken({ sub })}` },
    });
    expect(connection.status).toBe(200);
    expect(await connection.json()).toMatchObject({ userId: sub, status: 'active', lastRefreshAt: null });

    await forgetRefreshCycle(stack);
    const dispatched = await invoke<{ users: number; messages: number }>('refresh-dispatch', {
      time: new Date().toISOString(),
    });
    expect(dispatched.users).toBeGreaterThanOrEqual(1);
    const sqs = new SQSClient({});
    try {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
      );
      const records = toLambdaRecords(received.Messages ?? [], stack.queueUrl);
      expect(records.map((record) => JSON.parse(record.body) as { kind: string; batch?: string })).toEqual(
        Array.from({ length: dispatched.messages }, () =>
          expect.objectContaining({ kind: 'refresh', batch: expect.any(String) }),
        ),
      );
      const worked = await invoke<{ batchItemFailures: unknown[] }>('refresh-worker', { Records: records });
      expect(worked.batchItemFailures).toEqual([]);
    } finally {
      sqs.destroy();
    }
    const user = await userStoreOf(stack).getUser(sub);
    expect(user?.lastRefreshAt).toEqual(expect.any(String));
    expect(user?.jobs?.['appdata-summary']).toMatchObject({ status: 'ok', detail: { fileCount: 0, totalBytes: 0 } });
  });
});
