/**
 * Benchmark sections that run in a fresh process each (see `runSection`): the real handlers,
 * configured by the environment `bench/run.ts` passes, against the backends process.
 *
 *   sections.ts exchange <out> ours|seed   CPU per request and throughput of one exchange handler
 *   sections.ts exchange-domain <out>      the same for our exchange with stand-ins behind the ports
 *   sections.ts sign-in <out> <users>      signs users in (the refresh section's data)
 *   sections.ts refresh <out> <users>      refreshes them through the worker handler
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BackendsInfo, RequestCounts } from './backends';
import { cpuMs, elapsedMs, inParallel, median } from './measure';

type ApiHandler = (event: unknown) => Promise<{ statusCode: number; body?: string }>;

const backends = JSON.parse(process.env.BENCH_BACKENDS!) as BackendsInfo;

async function control<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${backends.control}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return (await response.json()) as T;
}

const authCodes = async (subs: string[]) => (await control<{ codes: string[] }>('/codes', { subs })).codes;

function authCodeEvent(code: string): unknown {
  return {
    version: '2.0',
    routeKey: 'POST /authcode',
    rawPath: '/authcode',
    rawQueryString: '',
    headers: { 'x-requested-with': 'bench', 'content-type': 'application/json' },
    body: JSON.stringify({ authCode: code }),
    isBase64Encoded: false,
    requestContext: { requestId: 'bench', http: { method: 'POST', path: '/authcode' } },
  };
}

/** Paths of the production bundles `bench/run.ts` built (esbuild with the stack's options). */
const bundles = JSON.parse(process.env.BENCH_BUNDLES!) as Record<string, string>;

/**
 * A handler as Lambda runs it: its production bundle, loaded as Lambda's runtime loads a
 * CommonJS handler, so that neither the TypeScript loader nor modules loaded at first use from
 * source count.
 */
function bundledHandler<T>(name: string): T {
  return (createRequire(__filename)(bundles[name]!) as { handler: T }).handler;
}

function exchangeHandler(which: string): ApiHandler {
  return bundledHandler<ApiHandler>(which === 'seed' ? 'seed-style' : 'exchange');
}

async function expectOk(handler: ApiHandler, code: string): Promise<void> {
  const answer = await handler(authCodeEvent(code));
  if (answer.statusCode !== 200) throw new Error(`exchange answered ${answer.statusCode}: ${answer.body}`);
}

/** CPU per request (sequential, median) and requests per second (16 in flight). */
async function exchange(which: string): Promise<unknown> {
  const handler = exchangeHandler(which);
  const sequential = Number(process.env.BENCH_EXCHANGE_REQUESTS ?? 100);
  const parallel = sequential * 2;
  const prefix = `${which}-${process.pid}`;
  const warmup = await authCodes(Array.from({ length: 20 }, (_, i) => `${prefix}-warm-${i}`));
  for (const code of warmup) await expectOk(handler, code);

  const codes = await authCodes(Array.from({ length: sequential }, (_, i) => `${prefix}-seq-${i}`));
  const cpu: number[] = [];
  for (const code of codes) {
    const before = process.cpuUsage();
    await expectOk(handler, code);
    cpu.push(cpuMs(before));
  }

  const burst = await authCodes(Array.from({ length: parallel }, (_, i) => `${prefix}-par-${i}`));
  const start = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await inParallel(burst, 16, (code) => expectOk(handler, code));
  const wallMs = elapsedMs(start);
  return {
    requests: sequential,
    cpuMsPerRequestMedian: median(cpu),
    throughputRequests: parallel,
    requestsPerSecond: (parallel / wallMs) * 1000,
    cpuMsPerRequestUnderLoad: cpuMs(cpuBefore) / parallel,
  };
}

/**
 * Our exchange's own CPU: the handler's edge and the use case with Google's token endpoint
 * and the stores answering from memory (stand-ins behind the GoogleGateway, UserStore and
 * ExchangeLedger ports), so that what is left is ours: parsing, the code's hash, ID-token
 * verification (jose, real signatures), envelope encryption (cached KMS data key), the answer.
 */
async function exchangeDomain(): Promise<unknown> {
  const { AuthCodeExchange, validateAuthCode } = await import('../lib/exchange');
  const { httpHandler, jsonResponse, readBodyField, requireRequestedWithHeader } = await import('../lib/http');
  const { GoogleKeySet, IdTokenVerifier } = await import('../lib/google/token-verifier');
  const { tokenCipher } = await import('../lib/runtime/cipher');
  const { DEFAULT_LOCAL_CLIENT } = await import('../local/google-emulator');
  const ledger = new Map<
    string,
    { status: 'pending' | 'done'; response?: Record<string, unknown>; expiresAt: number }
  >();
  const idTokens = new Map<string, string>();
  const scopes = ['openid', 'email', 'profile', 'https://www.googleapis.com/auth/drive.appdata'];
  const exchange = new AuthCodeExchange({
    users: {
      saveSignIn: ({ profile, grantedScopes, refreshToken, now }) =>
        Promise.resolve({
          ...profile,
          status: refreshToken ? 'active' : 'no_refresh_token',
          grantedScopes,
          ...(refreshToken ? { refreshToken: refreshToken.ciphertext } : {}),
          tokenVersion: 1,
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
          refreshFailures: 0,
        }),
    },
    exchanges: {
      begin: (codeHash, nowMs, ttlMs) => {
        const existing = ledger.get(codeHash);
        if (existing) return Promise.resolve({ claimed: false as const, existing });
        ledger.set(codeHash, { status: 'pending', expiresAt: nowMs + ttlMs });
        return Promise.resolve({ claimed: true as const });
      },
      get: (codeHash) => Promise.resolve(ledger.get(codeHash)),
      complete: (codeHash, response, expiresAt) => {
        ledger.set(codeHash, { status: 'done', response, expiresAt });
        return Promise.resolve();
      },
      abandon: (codeHash) => {
        ledger.delete(codeHash);
        return Promise.resolve();
      },
    },
    cipher: tokenCipher(),
    oauth: {
      redeemCode: (code) =>
        Promise.resolve({
          accessToken: `ya29.bench-${code}`,
          refreshToken: `1//bench-refresh-${code}-${'x'.repeat(64)}`,
          idToken: idTokens.get(code)!,
          scopes,
          expiresAt: Date.now() + 3_600_000,
        }),
      // Only reached when storing a redeemed token fails; the benchmark's stand-ins never fail.
      revoke: () => Promise.resolve(),
    },
    idTokens: new IdTokenVerifier(
      new GoogleKeySet(`http://${backends.googleHostPort}/oauth2/v1/certs`, 'pem-certificates'),
      { audience: DEFAULT_LOCAL_CLIENT.clientId, allowedAzp: [] },
    ),
    requiredScopes: ['https://www.googleapis.com/auth/drive.appdata'],
    redirectUri: '',
  });
  // The same edge as functions/exchange/index.ts.
  const handler = httpHandler(async (request) => {
    requireRequestedWithHeader(request);
    const authCode = validateAuthCode(readBodyField(request, 'authCode'));
    return jsonResponse(200, await exchange.exchange(authCode));
  }) as unknown as ApiHandler;

  const sequential = Number(process.env.BENCH_EXCHANGE_REQUESTS ?? 100) * 3;
  const subs = Array.from({ length: sequential + 20 }, (_, i) => `domain-${i}`);
  const tokens = (await control<{ idTokens: string[] }>('/id-tokens', { subs })).idTokens;
  const codes = subs.map((sub, i) => {
    idTokens.set(`code-${sub}`, tokens[i]!);
    return `code-${sub}`;
  });
  for (const code of codes.slice(0, 20)) await expectOk(handler, code);
  const cpu: number[] = [];
  for (const code of codes.slice(20)) {
    const before = process.cpuUsage();
    await expectOk(handler, code);
    cpu.push(cpuMs(before));
  }
  return { requests: sequential, cpuMsPerRequestMedian: median(cpu) };
}

/** Signs `users` users in through our exchange handler: the refresh section's data. */
async function signIn(users: number): Promise<unknown> {
  const handler = exchangeHandler('ours');
  const codes = await authCodes(Array.from({ length: users }, (_, i) => `refresh-user-${i}`));
  await inParallel(codes, 16, (code) => expectOk(handler, code));
  return { users };
}

/**
 * One whole refresh cycle of the signed-in users, on the path the stack ships: the real
 * dispatcher starts the cycle in the refresh ledger and scans the table into `refresh`
 * messages of `DISPATCH_USERS_PER_MESSAGE` users (with their batch ids; a stand-in queue
 * collects them), then the worker handler takes them in SQS batches of `BENCH_SQS_BATCH_SIZE`
 * messages, one invocation at a time as one execution environment does. Only the worker's
 * part is timed; the dispatcher's requests are counted apart.
 */
async function refresh(users: number): Promise<unknown> {
  const handler = bundledHandler<typeof import('../functions/refresh-worker/index').handler>('refresh-worker');
  const { RefreshDispatcher } = await import('../lib/refresh/dispatch');
  const { dispatchConfig } = await import('../lib/refresh/config');
  const { refreshLedger, userStore } = await import('../lib/runtime/aws');
  type Message = import('../lib/refresh/messages').RefreshQueueMessage;

  await control('/reset', {});
  const messages: Message[] = [];
  const dispatcher = new RefreshDispatcher({
    store: userStore(),
    ledger: refreshLedger(),
    queue: { send: (sent) => Promise.resolve(void messages.push(...sent)) },
    config: dispatchConfig(),
  });
  const dispatched = await dispatcher.dispatchCycle();
  if (dispatched.users !== users) throw new Error(`the dispatcher found ${dispatched.users} users, not ${users}`);
  const dispatchCounts = await control<RequestCounts>('/counts');

  const messagesPerBatch = Number(process.env.BENCH_SQS_BATCH_SIZE ?? 10);
  const batches: { Records: unknown[] }[] = [];
  for (let i = 0; i < messages.length; i += messagesPerBatch) {
    batches.push({
      Records: messages.slice(i, i + messagesPerBatch).map((body, j) => ({
        messageId: `m-${i + j}`,
        body: JSON.stringify(body),
        attributes: { ApproximateReceiveCount: '1' },
      })),
    });
  }
  await control('/reset', {});
  const start = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  let failures = 0;
  for (const batch of batches) {
    const answer = await handler(batch as never);
    failures += answer.batchItemFailures.length;
  }
  const wallMs = elapsedMs(start);
  const cpu = cpuMs(cpuBefore);
  const counts = await control<RequestCounts>('/counts');
  const total = (byOp: Record<string, number>) => Object.values(byOp).reduce((a, b) => a + b, 0);
  return {
    users,
    messages: messages.length,
    failedMessages: failures,
    wallMs,
    usersPerSecond: (users / wallMs) * 1000,
    cpuMsPerUser: cpu / users,
    kmsRequests: total(counts.kms),
    dynamoRequests: total(counts.dynamo),
    googleRequests: total(counts.google),
    counts,
    dispatchDynamoRequests: total(dispatchCounts.dynamo),
  };
}

async function main(): Promise<void> {
  const [name, out, arg] = process.argv.slice(2);
  let result: unknown;
  if (name === 'exchange') result = await exchange(arg ?? 'ours');
  else if (name === 'exchange-domain') result = await exchangeDomain();
  else if (name === 'sign-in') result = await signIn(Number(arg));
  else if (name === 'refresh') result = await refresh(Number(arg));
  else throw new Error(`unknown section ${name}`);
  writeFileSync(out!, JSON.stringify(result));
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
