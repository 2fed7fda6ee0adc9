/** The benchmark's backends (`bench/stack-process.ts`), started in a process of their own. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { ROOT } from './measure';

export interface BackendsInfo {
  control: string;
  dynamo: string;
  kms: string;
  google: string;
  googleHostPort: string;
  tableName: string;
  kmsKeyId: string;
  secretFile: string;
}

export type RequestCounts = Record<'dynamo' | 'kms' | 'google', Record<string, number>>;

export interface Backends {
  info: BackendsInfo;
  /** What the functions read, pointed at these backends (as `npm start` does). */
  env: Record<string, string>;
  setDelays(delays: { dynamo?: number; kms?: number; google?: number }): Promise<void>;
  authCodes(subs: string[]): Promise<string[]>;
  counts(): Promise<RequestCounts>;
  resetCounts(): Promise<void>;
  close(): Promise<void>;
}

async function call<T>(url: string, method = 'GET', body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status}`);
  return (await response.json()) as T;
}

export async function startBackends(): Promise<Backends> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'bench/stack-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).once('line', done);
    child.once('exit', (code) => fail(new Error(`bench backends exited with ${code}`)));
  });
  const info = JSON.parse(line) as BackendsInfo;
  return {
    info,
    env: {
      TABLE_NAME: info.tableName,
      KMS_KEY_ID: info.kmsKeyId,
      GOOGLE_CLIENT_SECRET_FILE: info.secretFile,
      GOOGLE_EMULATOR_HOST: info.googleHostPort,
      AWS_ENDPOINT_URL_DYNAMODB: info.dynamo,
      AWS_ENDPOINT_URL_KMS: info.kms,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      GOOGLE_ALLOWED_AZP: '',
    },
    setDelays: async (delays) => void (await call(`${info.control}/delays`, 'POST', delays)),
    authCodes: async (subs) => (await call<{ codes: string[] }>(`${info.control}/codes`, 'POST', { subs })).codes,
    counts: () => call<RequestCounts>(`${info.control}/counts`),
    resetCounts: async () => void (await call(`${info.control}/reset`, 'POST')),
    close: async () => {
      const exited = new Promise((done) => child.once('exit', done));
      child.stdin!.end();
      await exited;
    },
  };
}
