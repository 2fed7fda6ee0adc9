/**
 * Cold start: each function's production bundle (esbuild as the stack's NodejsFunction runs
 * it) loaded by a fresh `node` with the stack's environment, until the handler module has
 * finished loading (what Lambda's init phase waits for), against a bare `node` and against
 * the seed-style handler (`bench/seed-style/exchange.ts`: all of googleapis, google-auth-library
 * and both AWS clients). Runs are interleaved round by round, so load on the machine hits
 * every variant alike; each figure is a median. `BENCH_NODE` names another `node` to run them
 * with (Lambda's runtime is Node.js 22); default: the one running the benchmark.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { esbuildArgs } from '../infra/bundling';
import { ROOT, median } from './measure';

/** Every function the stack deploys: each folder of `functions/` (infra/functions.ts lists the same). */
export const FUNCTIONS = readdirSync(join(ROOT, 'functions')).filter((name) =>
  existsSync(join(ROOT, 'functions', name, 'index.ts')),
);

/** What the stack sets on every function (infra/stack.ts, infra/constructs/service-function.ts), with placeholders. */
export const STACK_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'ASIABENCH',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SESSION_TOKEN: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  TABLE_NAME: 'GoogleOfflineAccess-TokenStoreTable',
  KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
  GOOGLE_CLIENT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:google-client-secret',
  GOOGLE_CLIENT_ID: '1234567890-bench.apps.googleusercontent.com',
  GOOGLE_ALLOWED_AZP: '1234567890-android.apps.googleusercontent.com',
  GOOGLE_REQUIRED_SCOPES: 'https://www.googleapis.com/auth/drive.appdata',
  REFRESH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/refresh',
  REFRESH_JOBS: 'appdata-summary',
  GOOGLE_QPS: '10',
  REFRESH_USER_CONCURRENCY: '8',
  DISPATCH_SCAN_SEGMENTS: '4',
  DISPATCH_USERS_PER_MESSAGE: '10',
  POWERTOOLS_SERVICE_NAME: 'google-offline-access',
  POWERTOOLS_METRICS_NAMESPACE: 'GoogleOfflineAccess',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

const NODE = process.env.BENCH_NODE || process.execPath;

export interface ColdStartResult {
  runs: number;
  node: string;
  bareNodeMs: number;
  seedStyle: { bundleKiB: number; readyMs: number };
  functions: Record<string, { bundleKiB: number; readyMs: number; vsBareNode: number; seedStyleVsOurs: number }>;
}

/** Every function's production bundle and the seed-style baseline's, built once per benchmark run. */
export interface Bundles {
  dir: string;
  /** Function folder name (and `seed-style`) → its bundle. */
  files: Record<string, string>;
}

/**
 * esbuild with the stack's options (`infra/bundling.ts`), as NodejsFunction runs it, for every
 * function; the seed-style baseline keeps every package (a hand-rolled handler leaves nothing
 * out, and its gaxios needs `node-fetch` at run time).
 */
export function buildBundles(): Bundles {
  const dir = mkdtempSync(join(tmpdir(), 'goa-bench-bundles-'));
  const esbuild = join(ROOT, 'node_modules/.bin/esbuild');
  const files: Record<string, string> = {};
  for (const name of FUNCTIONS) {
    files[name] = join(dir, name, 'index.js');
    execFileSync(esbuild, esbuildArgs(join(ROOT, 'functions', name, 'index.ts'), files[name]));
  }
  files['seed-style'] = join(dir, 'seed-style', 'index.js');
  execFileSync(esbuild, esbuildArgs(join(ROOT, 'bench/seed-style/exchange.ts'), files['seed-style'], []));
  return { dir, files };
}

/** Wall time of one fresh `node` that requires `module` (or nothing) and exits at once. */
function readyMs(module: string | undefined): number {
  // Exit as soon as the module has loaded: work it started (the client secret fetch) is not init.
  const script = module ? `require(${JSON.stringify(module)});process.exit(0)` : 'process.exit(0)';
  const start = process.hrtime.bigint();
  const run = spawnSync(NODE, ['-e', script], {
    env: { ...process.env, ...STACK_ENV, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`loading ${module} failed: ${run.stderr}`);
  return ms;
}

export function coldStarts(
  { files: bundles }: Bundles,
  runs = Number(process.env.BENCH_COLD_RUNS ?? 9),
): ColdStartResult {
  const seed = bundles['seed-style']!;

  const samples: Record<string, number[]> = { bare: [], seed: [] };
  for (const name of FUNCTIONS) samples[name] = [];
  for (let round = 0; round < runs; round++) {
    samples.bare!.push(readyMs(undefined));
    for (const name of FUNCTIONS) samples[name]!.push(readyMs(bundles[name]));
    samples.seed!.push(readyMs(seed));
  }
  const kib = (file: string) => Math.round(statSync(file).size / 1024);
  const bareNodeMs = median(samples.bare!);
  const seedMs = median(samples.seed!);
  const functions: ColdStartResult['functions'] = {};
  for (const name of FUNCTIONS) {
    const ms = median(samples[name]!);
    functions[name] = {
      bundleKiB: kib(bundles[name]!),
      readyMs: ms,
      vsBareNode: ms / bareNodeMs,
      seedStyleVsOurs: seedMs / ms,
    };
  }
  const node = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { runs, node, bareNodeMs, seedStyle: { bundleKiB: kib(seed), readyMs: seedMs }, functions };
}
