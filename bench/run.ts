/**
 * `npm run bench`: the figures users ask about, each against a baseline measured in the same
 * run on the same machine (absolute numbers move with the machine and its load; the ratios
 * hold). Prints a table and writes `bench/results.json`.
 *
 * 1. Cold start of every function's production bundle vs bare `node` and vs a seed-style handler (`cold-start.ts`).
 * 2. Exchange: CPU per request and throughput, ours vs seed-style, with Google and AWS answering at once (`sections.ts`).
 * 3. Refresh: whole cycles (the real dispatcher, then the worker's production bundle) through one
 *    execution environment at 50 ms Google, 5 ms DynamoDB and 10 ms KMS, with the stack's shipped
 *    settings; worker CPU, KMS and DynamoDB requests per user.
 * 4. ID-token verification and envelope encryption (`crypto.ts`).
 *
 * Environment: BENCH_COLD_RUNS (9), BENCH_USERS (2000: one SQS batch at the shipped settings,
 * 10 messages of 200 users), BENCH_EXCHANGE_REQUESTS (100), BENCH_NODE (cold starts on another
 * Node.js), BENCH_CPU_PROF (a directory: each section writes a V8 CPU profile there).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { refreshSizing } from '../lib/refresh/sizing';
import { startBackends } from './backends';
import { buildBundles, coldStarts, STACK_ENV, type ColdStartResult } from './cold-start';
import { envelope, idTokens } from './crypto';
import { ROOT, runSection } from './measure';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface ExchangeFigures {
  requests: number;
  cpuMsPerRequestMedian: number;
  throughputRequests: number;
  requestsPerSecond: number;
  cpuMsPerRequestUnderLoad: number;
}

interface RefreshFigures {
  users: number;
  messages: number;
  failedMessages: number;
  wallMs: number;
  usersPerSecond: number;
  cpuMsPerUser: number;
  kmsRequests: number;
  dynamoRequests: number;
  googleRequests: number;
  dispatchDynamoRequests: number;
}

/**
 * Settings the stack ships: what infra/stack.ts derives from cdk.json's allowance with
 * `refreshSizing` (users in flight, users per message, SQS batch size), except a Google
 * allowance per environment that does not bind (DESIGN.md: the rate limiter is not measured here).
 */
const context = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;
const sizing = refreshSizing({
  googleRequestsPerSecond: Number(context.googleRequestsPerSecond),
  maxUsersPerMessage: Number(context.usersPerMessage),
});
const SHIPPED_WORKER = {
  REFRESH_USER_CONCURRENCY: String(sizing.userConcurrency),
  DISPATCH_USERS_PER_MESSAGE: String(sizing.usersPerMessage),
  REFRESH_JOBS: STACK_ENV.REFRESH_JOBS!,
  GOOGLE_QPS: '100000',
  BENCH_SQS_BATCH_SIZE: String(sizing.batchSize),
};
const LATENCY = { google: 50, dynamo: 5, kms: 10 };

/** DynamoDB requests per user of the last `npm run simulate` (bench/simulation.json): the scale-and-cost model's figure. */
function simulatedDynamoRequestsPerUser(): number | undefined {
  try {
    const simulation = JSON.parse(readFileSync(join(ROOT, 'bench/simulation.json'), 'utf8')) as {
      users: number;
      requests: { dynamodb: Record<string, number> };
    };
    const { readUnits: _reads, writeUnits: _writes, ...operations } = simulation.requests.dynamodb;
    return Object.values(operations).reduce((a, b) => a + b, 0) / simulation.users;
  } catch {
    return undefined;
  }
}

const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);
const times = (x: number) => `${x.toFixed(2)}×`;

async function main(): Promise<void> {
  const users = Number(process.env.BENCH_USERS ?? 2000);
  const rows: string[][] = [['figure', 'baseline', 'ours', 'ratio', 'target']];
  const started = Date.now();

  // 300 tokens are enough to count KMS requests; the uncached baseline costs one KMS round trip each way per token.
  const crypto = { idTokens: await idTokens(1000), envelope: await envelope(300) };

  // Built once: the sections run them, the cold start loads them.
  const bundles = buildBundles();
  const backends = await startBackends();
  let exchange: {
    ours: ExchangeFigures;
    seedStyle: ExchangeFigures;
    oursWithStandIns: { requests: number; cpuMsPerRequestMedian: number };
  };
  let refresh: RefreshFigures & {
    firstCycle: RefreshFigures;
    latencyFloorUsersPerSecond: number;
    settings: typeof SHIPPED_WORKER;
  };
  let cold: ColdStartResult;
  try {
    const env = {
      ...backends.env,
      BENCH_BACKENDS: JSON.stringify(backends.info),
      BENCH_BUNDLES: JSON.stringify(bundles.files),
    };
    // The refresh first, while the table holds just its users (the exchange sections sign more in).
    await runSection('sign-in', env, [String(users)]);
    await backends.setDelays(LATENCY);
    // Each cycle in a fresh process (a fresh environment: no cached data keys). The first after
    // sign-in writes every user's first results; the second is every later day's cycle, where
    // only users whose results changed (none here) are written.
    const refreshEnv = { ...env, ...SHIPPED_WORKER, REFRESH_QUEUE_URL: 'https://sqs.invalid/bench' };
    const firstCycle = await runSection<RefreshFigures>('refresh', refreshEnv, [String(users)]);
    const measured = await runSection<RefreshFigures>('refresh', refreshEnv, [String(users)]);
    // The rate if CPU were free: each user's requests one after another, `concurrency` users at a time.
    const perUserLatencyMs =
      (measured.googleRequests * LATENCY.google +
        measured.dynamoRequests * LATENCY.dynamo +
        measured.kmsRequests * LATENCY.kms) /
      measured.users;
    refresh = {
      ...measured,
      firstCycle,
      latencyFloorUsersPerSecond: (Number(SHIPPED_WORKER.REFRESH_USER_CONCURRENCY) * 1000) / perUserLatencyMs,
      settings: SHIPPED_WORKER,
    };
    await backends.setDelays({ google: 0, dynamo: 0, kms: 0 });
    exchange = {
      ours: await runSection<ExchangeFigures>('exchange', env, ['ours']),
      seedStyle: await runSection<ExchangeFigures>('exchange', env, ['seed']),
      oursWithStandIns: await runSection('exchange-domain', env),
    };
    cold = coldStarts(bundles);
  } finally {
    await backends.close();
    rmSync(bundles.dir, { recursive: true, force: true });
  }

  // ---- the table
  for (const [name, f] of Object.entries(cold.functions)) {
    rows.push([
      `cold start ${name} (${f.bundleKiB} KiB)`,
      `bare node ${fmtMs(cold.bareNodeMs)}`,
      fmtMs(f.readyMs),
      times(f.vsBareNode),
      '≤ 2×',
    ]);
    rows.push([
      `  vs seed-style handler (${cold.seedStyle.bundleKiB} KiB)`,
      fmtMs(cold.seedStyle.readyMs),
      fmtMs(f.readyMs),
      `${times(f.seedStyleVsOurs)} faster`,
      '≥ 5× faster',
    ]);
  }
  rows.push([
    'exchange CPU per request, stand-ins behind the ports (median)',
    '',
    fmtMs(exchange.oursWithStandIns.cpuMsPerRequestMedian),
    '',
    '< 1 ms',
  ]);
  rows.push([
    'exchange CPU per request, SDK clients + emulators (median)',
    fmtMs(exchange.seedStyle.cpuMsPerRequestMedian),
    fmtMs(exchange.ours.cpuMsPerRequestMedian),
    times(exchange.ours.cpuMsPerRequestMedian / exchange.seedStyle.cpuMsPerRequestMedian),
    '',
  ]);
  // What one execution environment can serve when Google and AWS answer at once: CPU-bound.
  rows.push([
    'exchange requests per CPU-second',
    `${(1000 / exchange.seedStyle.cpuMsPerRequestMedian).toFixed(0)}/s`,
    `${(1000 / exchange.ours.cpuMsPerRequestMedian).toFixed(0)}/s`,
    times(exchange.seedStyle.cpuMsPerRequestMedian / exchange.ours.cpuMsPerRequestMedian),
    '≥ 3×',
  ]);
  rows.push([
    'exchange throughput, 16 in flight (emulators share the CPU)',
    `${exchange.seedStyle.requestsPerSecond.toFixed(0)} req/s`,
    `${exchange.ours.requestsPerSecond.toFixed(0)} req/s`,
    times(exchange.ours.requestsPerSecond / exchange.seedStyle.requestsPerSecond),
    '',
  ]);
  rows.push([
    `refresh users/s, one environment (${refresh.users} users)`,
    `latency floor at ${SHIPPED_WORKER.REFRESH_USER_CONCURRENCY} in flight: ${refresh.latencyFloorUsersPerSecond.toFixed(0)}/s`,
    `${refresh.usersPerSecond.toFixed(0)}/s`,
    times(refresh.usersPerSecond / refresh.latencyFloorUsersPerSecond),
    '≥ 200/s',
  ]);
  rows.push([
    'refresh worker CPU per user (users/s per busy core)',
    '',
    `${fmtMs(refresh.cpuMsPerUser)} (${(1000 / refresh.cpuMsPerUser).toFixed(0)}/s)`,
    '',
    '',
  ]);
  rows.push([
    'KMS requests per 1,000 users refreshed',
    '1000 (one per token)',
    ((refresh.kmsRequests * 1000) / refresh.users).toFixed(1),
    '',
    '≤ 5',
  ]);
  const first = refresh.firstCycle;
  rows.push([
    '  first cycle after sign-in (every user written)',
    '',
    `${first.usersPerSecond.toFixed(0)}/s, ${fmtMs(first.cpuMsPerUser)} CPU per user`,
    '',
    '',
  ]);
  const modelled = simulatedDynamoRequestsPerUser();
  rows.push([
    'DynamoDB requests per user refreshed (worker + dispatcher)',
    modelled === undefined ? '' : `simulation (2% changed): ${modelled.toFixed(3)}`,
    ((refresh.dynamoRequests + refresh.dispatchDynamoRequests) / refresh.users).toFixed(3),
    '',
    modelled === undefined ? '' : `≤ ${modelled.toFixed(3)}`,
  ]);
  rows.push([
    '  first cycle after sign-in',
    '',
    ((first.dynamoRequests + first.dispatchDynamoRequests) / first.users).toFixed(3),
    '',
    '',
  ]);
  rows.push(['Google requests per user refreshed', '', (refresh.googleRequests / refresh.users).toFixed(2), '', '']);
  const id = crypto.idTokens;
  rows.push([
    `ID token verification (×${id.verifications})`,
    `google-auth-library ${fmtMs(id.googleAuthLibraryMs)}`,
    fmtMs(id.oursMs),
    `${times(id.googleAuthLibraryMs / id.oursMs)} faster`,
    '',
  ]);
  const env = crypto.envelope;
  rows.push([
    `encrypt ${env.tokens} refresh tokens`,
    `${fmtMs(env.uncached.encryptMs)}, ${env.uncached.encryptRequests} KMS req`,
    `${fmtMs(env.cached.encryptMs)}, ${env.cached.encryptRequests} KMS req`,
    times(env.cached.encryptMs / env.uncached.encryptMs),
    '',
  ]);
  rows.push([
    `decrypt ${env.tokens} refresh tokens`,
    `${fmtMs(env.uncached.decryptMs)}, ${env.uncached.decryptRequests} KMS req`,
    `${fmtMs(env.cached.decryptMs)}, ${env.cached.decryptRequests} KMS req`,
    times(env.cached.decryptMs / env.uncached.decryptMs),
    '',
  ]);

  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, col) => cell.padEnd(widths[col]!)).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }

  const results = {
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    coldStart: cold,
    exchange,
    refresh: {
      ...refresh,
      latenciesMs: LATENCY,
      kmsRequestsPer1000Users: (refresh.kmsRequests * 1000) / refresh.users,
      dynamoRequestsPerUser: refresh.dynamoRequests / refresh.users,
      googleRequestsPerUser: refresh.googleRequests / refresh.users,
    },
    idTokenVerification: crypto.idTokens,
    envelopeEncryption: crypto.envelope,
  };
  writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten bench/results.json (${results.durationSeconds} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
