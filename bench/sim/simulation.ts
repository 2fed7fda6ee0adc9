/**
 * One refresh cycle of N users in virtual time, through the real code: `RefreshDispatcher`,
 * `RefreshWorker`, `UserRefresher`, `EnvelopeCipher`, `TokenBucket` and the real jobs, over
 * the in-memory ports beside this file. Around them, what AWS does: an SQS event source
 * with batch size and maximum concurrency, Lambda execution environments (cold starts with
 * billed init, reuse, timeouts, optional crashes), the visibility timeout and redelivery,
 * and Google answering 429 above the project's allowance. Every request is counted and
 * priced (prices.ts).
 *
 * What takes CPU in a real environment (TLS, SDK serialization) is charged to the
 * environment's share of a vCPU (memory / 1769 MB), so an environment that is asked for more
 * than it can do becomes the bottleneck, as it would.
 */
import { GrantRefresher } from '../../lib/access-tokens';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EnvelopeCipher, TOKEN_PURPOSE } from '../../lib/crypto/envelope';
import { selectJobs } from '../../lib/jobs/registry';
import { DEADLINE_SAFETY_MS } from '../../lib/refresh/deadline';
import { RefreshDispatcher, type DispatchResult } from '../../lib/refresh/dispatch';
import { TokenBucket } from '../../lib/refresh/rate-limiter';
import { DEFAULT_GOOGLE_REQUESTS_PER_USER, quotaFloorSeconds, refreshSizing } from '../../lib/refresh/sizing';
import { WORKER_CIPHER_OPTIONS } from '../../lib/refresh/config';
import { UserRefresher } from '../../lib/refresh/user-refresh';
import { RefreshWorker, type QueueRecord } from '../../lib/refresh/worker';
import type { UserRecord } from '../../lib/store/users';
import { VirtualClock } from './clock';
import { DRIVE_APPDATA, SimGoogle, tokenOfUser, type RequestHooks } from './google';
import { MemoryDataKeys, MemoryKms } from './memory-kms';
import { MemoryQueue, type QueuedMessage } from './memory-queue';
import { MemoryRefreshLedger } from './memory-refresh-ledger';
import { MemoryUserStore, type UserSeed } from './memory-user-store';
import { Meter, total } from './meter';
import { DAYS_PER_MONTH, PRICES } from './prices';
import { schedulePeriodMs } from './schedule';

export interface SimulationOptions {
  users: number;
  /** Google requests per second the project allows the refresh (the stack's one knob). */
  googleQps: number;
  /** EventBridge expression; default `rate(1 day)` (what the stack ships). */
  schedule?: string;
  usersPerMessage?: number;
  /** Messages per worker invocation (the event source's batch size). */
  batchSize?: number;
  scanSegments?: number;
  workerMemoryMb?: number;
  /** Fraction of users whose Drive app data changed since the last cycle (their record is written). */
  changeRate?: number;
  /** Stored tokens per distinct data key (how many sign-ins one exchange data key served). */
  usersPerDataKey?: number;
  /** Fraction of users whose grant died since the last cycle. */
  revokedRate?: number;
  /** Fraction of refresh grants answered with a rotated refresh token. */
  rotationRate?: number;
  /** Fraction of Google requests answered 503. */
  googleFailureRate?: number;
  /** Probability that a worker invocation's environment dies mid-batch. */
  crashRate?: number;
  /** Unchanged outcomes are still written when this old (the worker's REFRESH_RECORD_INTERVAL_HOURS). */
  recordIntervalHours?: number;
  seed?: number;
  /** Print progress lines to this stream. */
  progress?: NodeJS.WritableStream;
}

/** The performance model's constants, printed with the results (estimates, not measurements of AWS). */
export const MODEL = {
  googleTokenLatencyMs: 120,
  googleDriveLatencyMs: 150,
  dynamoLatencyMs: 6,
  sqsLatencyMs: 15,
  kmsLatencyMs: 8,
  /** CPU at one full vCPU: TLS + gaxios for a Google request, SDK (de)serialization and signing for AWS. */
  cpuMsPerGoogleRequest: 1.2,
  cpuMsPerAwsRequest: 0.6,
  cpuMsPerUser: 0.4,
  /** Lambda gives one full vCPU at 1,769 MB, proportionally less below. */
  mbPerVcpu: 1769,
  workerColdStartMs: 1100,
  dispatcherColdStartMs: 700,
  dispatcherMemoryMb: 512,
  workerTimeoutMs: 180_000,
  dispatcherTimeoutMs: 600_000,
  visibilityTimeoutMs: 1_080_000,
  maxReceives: 5,
  leaseMs: 300_000,
  /** An environment idle this long is reclaimed by Lambda. */
  idleReclaimMs: 600_000,
  /** SQS long polling: an empty receive waits this long. */
  longPollMs: 20_000,
  /** START, END and REPORT lines per invocation, and INIT lines per cold start. */
  platformLogBytesPerInvocation: 420,
  platformLogBytesPerColdStart: 120,
  /** The custom metrics the functions publish (each a metric-month when it appears). */
  customMetrics: ['RefreshedUsers', 'FailedUserRefreshes', 'RevokedUsers', 'RefreshCycleOverlaps'],
} as const;

export interface TimelinePoint {
  /** Seconds since the cycle started. */
  t: number;
  usersRefreshed: number;
  googleRequests: number;
  environments: number;
}

export interface SimulationResult {
  users: number;
  googleQps: number;
  schedule: string;
  floorSeconds: number;
  cycleSeconds: number;
  cycleVsFloor: number;
  usersRefreshed: number;
  usersRefreshedTwice: number;
  usersRefreshedConcurrently: number;
  usersRevoked: number;
  usersLost: number;
  googleRequests: number;
  google429s: number;
  googleRequestsPerUser: number;
  dynamoWriteUnitsPerUser: number;
  dynamoUserItemWriteUnitsPerUser: number;
  dynamoReadUnitsPerUser: number;
  peakConcurrency: number;
  meanConcurrency: number;
  cycleOverlaps: number;
  costPerCycleUsd: number;
  costPerMonthUsd: number;
  costBreakdownUsd: Record<string, number>;
  fixedMonthlyUsd: Record<string, number>;
  cyclesPerMonth: number;
  requests: Record<string, unknown>;
  perUser: Record<string, number>;
  settings: Record<string, unknown>;
  model: typeof MODEL;
  prices: typeof PRICES;
  timeline: TimelinePoint[];
  wallSeconds: number;
}

/** A small deterministic PRNG (mulberry32), so runs are repeatable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable per-user fraction in [0, 1) for a purpose, so properties do not depend on visiting order. */
function fraction(index: number, salt: number): number {
  let h = (index + 1) * 0x9e3779b1 + salt * 0x85ebca77;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

interface Environment {
  id: number;
  busyUntil: number;
  crashed: boolean;
  worker: RefreshWorker;
  idleSince: number;
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const wallStart = Date.now();
  const schedule = options.schedule ?? 'rate(1 day)';
  const periodMs = schedulePeriodMs(schedule);
  const sizing = refreshSizing({
    googleRequestsPerSecond: options.googleQps,
    ...(options.usersPerMessage ? { maxUsersPerMessage: options.usersPerMessage } : {}),
  });
  const { usersPerMessage } = sizing;
  const batchSize = options.batchSize ?? sizing.batchSize;
  const scanSegments = options.scanSegments ?? 4;
  const memoryMb = options.workerMemoryMb ?? 256;
  const changeRate = options.changeRate ?? 0.02;
  const usersPerDataKey = options.usersPerDataKey ?? 1000;
  const recordIntervalMs = (options.recordIntervalHours ?? 720) * 3_600_000;
  const random = prng(options.seed ?? 12);

  const clock = new VirtualClock();
  const { now, sleep } = clock;
  const cycleStart = now();
  const meter = new Meter();
  const kms = new MemoryKms();

  // The users as the previous cycle left them: active, last refreshed a day ago (spread over
  // the record interval), with the job result the fake Drive answers unless their data changed.
  const seed = seededUsers(options.users, { kms, usersPerDataKey, recordIntervalMs, changeRate, cycleStart });
  const store = new MemoryUserStore({ seed, meter });
  const ledger = new MemoryRefreshLedger(meter);
  const queue = new MemoryQueue({
    now,
    visibilityTimeoutMs: MODEL.visibilityTimeoutMs,
    maxReceives: MODEL.maxReceives,
    meter,
    beforeRequest: () => sleep(MODEL.sqsLatencyMs),
  });
  const revokedRate = options.revokedRate ?? 0.001;
  const google = new SimGoogle({
    qps: options.googleQps,
    now,
    meter,
    random,
    failureRate: options.googleFailureRate ?? 0,
    rotationRate: options.rotationRate ?? 0,
    isRevoked: (userId) => fraction(seed.indexOf(userId) ?? 0, 3) < revokedRate,
    userCount: options.users,
    indexOf: (userId) => seed.indexOf(userId),
    filesOf: (userId) => seed.filesOf(userId),
  });

  // Captures what the functions log (priced as CloudWatch Logs ingestion) instead of printing it.
  const progress = options.progress;
  const progressWrite = progress ? progress.write.bind(progress) : undefined;
  const restoreOutput = captureOutput((chunk) => {
    meter.logs.bytes += Buffer.byteLength(chunk);
    for (const match of chunk.matchAll(/"Metrics":\[(.*?)\]/g))
      for (const name of match[1]!.matchAll(/"Name":"(\w+)"/g)) meter.logs.metricNames.add(name[1]!);
  });

  const hang = () => new Promise<void>(() => undefined);
  /** The environment's CPU for a request, then its time on the wire: one timer. */
  const request = async (
    env: { busyUntil: number; crashed: boolean },
    vcpu: number,
    cpuMs: number,
    latencyMs: number,
  ) => {
    if (env.crashed) return hang();
    const start = Math.max(now(), env.busyUntil);
    env.busyUntil = start + cpuMs / vcpu;
    await sleep(env.busyUntil - now() + latencyMs);
    if (env.crashed) await hang();
  };
  const awsCall = (env: { busyUntil: number; crashed: boolean }, vcpu: number, latencyMs: number) => () =>
    request(env, vcpu, MODEL.cpuMsPerAwsRequest, latencyMs);

  let dispatched: DispatchResult | undefined;
  let cycleOverlaps = 0;
  // The dispatcher's own environment pays its CPU and latency; it sends to the one simulated queue.
  const dispatcherOf = (env: { busyUntil: number; crashed: boolean }, vcpu: number) =>
    new RefreshDispatcher({
      store: store.withHooks(awsCall(env, vcpu, MODEL.dynamoLatencyMs * 3)),
      queue: {
        send: async (messages) => {
          await request(env, vcpu, MODEL.cpuMsPerAwsRequest * Math.ceil(messages.length / 10), 0);
          await queue.send(messages);
        },
      },
      config: { scanSegments, usersPerMessage, scanPageSize: 1000, cycleTimeoutMs: 23 * 3_600_000 },
      ledger: ledger.withHooks(awsCall(env, vcpu, MODEL.dynamoLatencyMs)),
      metrics: new Metrics({ namespace: 'GoogleOfflineAccess', serviceName: 'google-offline-access' }),
      now,
    });

  // --- Lambda: execution environments of the worker -------------------------------------------
  const vcpu = memoryMb / MODEL.mbPerVcpu;
  const idle: Environment[] = [];
  let environments = 0;
  let running = 0;
  let lastBusyChange = now();
  const setRunning = (delta: number) => {
    meter.lambda.busyMs += running * (now() - lastBusyChange);
    lastBusyChange = now();
    running += delta;
    meter.lambda.peakConcurrency = Math.max(meter.lambda.peakConcurrency, running);
  };
  const refreshedFlags = new Uint8Array(options.users);
  const refreshed = {
    size: 0,
    add(userId: string) {
      const index = seed.indexOf(userId);
      if (index === undefined || refreshedFlags[index]) return;
      refreshedFlags[index] = 1;
      this.size += 1;
    },
  };
  let revoked = 0;
  const gb = memoryMb / 1024;

  const newEnvironment = (): Environment => {
    const env = { id: environments++, busyUntil: 0, crashed: false, idleSince: now() } as Environment;
    // A user's own CPU (decrypt, the job, bookkeeping) is charged with its refresh grant.
    const hooks: RequestHooks = {
      alive: () => !env.crashed,
      request: (kind) =>
        kind === 'token'
          ? request(env, vcpu, MODEL.cpuMsPerGoogleRequest + MODEL.cpuMsPerUser, MODEL.googleTokenLatencyMs)
          : request(env, vcpu, MODEL.cpuMsPerGoogleRequest, MODEL.googleDriveLatencyMs),
    };
    const envStore = store.withHooks(awsCall(env, vcpu, MODEL.dynamoLatencyMs));
    const bucket = new TokenBucket({ ratePerSecond: sizing.perEnvironmentQps, burst: 1, now, sleep });
    const cipher = new EnvelopeCipher(
      new MemoryDataKeys(kms, meter, awsCall(env, vcpu, MODEL.kmsLatencyMs)),
      { ...WORKER_CIPHER_OPTIONS, now },
      TOKEN_PURPOSE,
    );
    const oauth = google.gateway(hooks);
    const users = new UserRefresher({
      store: envStore,
      grants: new GrantRefresher({ store: envStore, cipher, oauth, beforeGoogleRequest: () => bucket.take(), now }),
      jobs: selectJobs(['appdata-summary']),
      driveFor: google.driveFactory({ ...hooks, rateLimit: () => bucket.take() }),
      leaseMs: MODEL.leaseMs,
      retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5_000 },
      recordIntervalMs,
      onGoogleThrottled: () => bucket.slowDown(),
      now,
      sleep,
      random,
    });
    env.worker = new RefreshWorker({
      // Outcomes are tallied as each user finishes: a crash later in the batch does not undo them.
      users: {
        refresh: (userId, run) => users.refresh(userId, run),
        refreshUnderClaim: async (userId, record, run) => {
          const outcome = await users.refreshUnderClaim(userId, record, run);
          if (outcome.status === 'refreshed') refreshed.add(userId);
          if (outcome.status === 'revoked') revoked += 1;
          return outcome;
        },
      },
      dispatcher: {
        continueSegment: (message, deadline) => dispatcherOf(env, vcpu).continueSegment(message, deadline),
      },
      retryRevocation: () => Promise.resolve(),
      metrics: new Metrics({ namespace: 'GoogleOfflineAccess', serviceName: 'google-offline-access' }),
      userConcurrency: sizing.userConcurrency,
      claims: {
        ledger: ledger.withHooks(awsCall(env, vcpu, MODEL.dynamoLatencyMs)),
        store: envStore,
        leaseMs: MODEL.leaseMs,
        maxReceives: MODEL.maxReceives,
      },
      now,
    });
    return env;
  };

  const invoke = async (received: QueuedMessage[]): Promise<void> => {
    setRunning(+1);
    meter.lambda.invocations += 1;
    // Lambda reuses an idle environment; one idle too long has been reclaimed.
    let env: Environment | undefined;
    while ((env = idle.pop()) && now() - env.idleSince > MODEL.idleReclaimMs) env = undefined;
    if (!env) {
      env = newEnvironment();
      meter.lambda.coldStarts += 1;
      meter.logs.bytes += MODEL.platformLogBytesPerColdStart;
      await sleep(MODEL.workerColdStartMs);
      meter.lambda.initGbSeconds += (MODEL.workerColdStartMs / 1000) * gb;
    }
    const started = now();
    const deadline = started + MODEL.workerTimeoutMs - Math.min(DEADLINE_SAFETY_MS, MODEL.workerTimeoutMs / 3);
    const records: QueueRecord[] = received.map((message) => ({
      messageId: message.messageId,
      body: message.body,
      attributes: { ApproximateReceiveCount: String(message.receiveCount) },
    }));
    const crashes = random() < (options.crashRate ?? 0);
    const outcome = await Promise.race([
      env.worker.processBatch(records, deadline),
      sleep(crashes ? random() * 20_000 : MODEL.workerTimeoutMs).then(() => 'killed' as const),
    ]);
    meter.lambda.durationGbSeconds += ((now() - started) / 1000) * gb;
    meter.logs.bytes += MODEL.platformLogBytesPerInvocation;
    if (outcome === 'killed') {
      // The environment died (crash or timeout): nothing is deleted, everything comes back.
      env.crashed = true;
    } else {
      const failed = new Set(outcome.batchItemFailures.map((failure) => failure.itemIdentifier));
      await queue.delete(received.filter((message) => !failed.has(message.messageId)));
      env.idleSince = now();
      idle.push(env);
    }
    setRunning(-1);
  };

  // --- The event source: `maxConcurrency` pollers, each one invocation at a time ---------------
  let finished = false;
  const poller = async (): Promise<void> => {
    while (!finished) {
      const received = await queue.receive(batchSize);
      if (received.length) {
        await invoke(received);
        continue;
      }
      const next = queue.nextVisibleAt();
      await sleep(next === undefined ? MODEL.longPollMs : Math.min(MODEL.longPollMs, Math.max(1, next - now())));
    }
  };

  // --- The schedule: the first firing starts the cycle; later ones while it runs must be skipped.
  const fire = async (): Promise<DispatchResult> => {
    const env = { busyUntil: 0, crashed: false };
    const vcpuDispatch = MODEL.dispatcherMemoryMb / MODEL.mbPerVcpu;
    await sleep(MODEL.dispatcherColdStartMs);
    const started = now();
    const result = await dispatcherOf(env, vcpuDispatch).dispatchCycle({
      deadline: started + MODEL.dispatcherTimeoutMs - DEADLINE_SAFETY_MS,
    });
    const gbDispatch = MODEL.dispatcherMemoryMb / 1024;
    meter.lambda.invocations += 1;
    meter.lambda.initGbSeconds += (MODEL.dispatcherColdStartMs / 1000) * gbDispatch;
    meter.lambda.durationGbSeconds += ((now() - started) / 1000) * gbDispatch;
    meter.logs.bytes += MODEL.platformLogBytesPerInvocation + MODEL.platformLogBytesPerColdStart;
    return result;
  };

  const timeline: TimelinePoint[] = [];
  const sample = () =>
    timeline.push({
      t: (now() - cycleStart) / 1000,
      usersRefreshed: refreshed.size,
      googleRequests: total(meter.google.requests),
      environments: running,
    });
  let lastDoneAt = cycleStart;
  const progressEvery = Math.max(1, Math.round(options.users / 10));
  let nextProgress = progressEvery;

  const main = async () => {
    dispatched = await fire();
    for (;;) {
      const state = ledger.peekCycle();
      if (
        queue.size === 0 &&
        state &&
        state.segmentsDone >= state.totalSegments &&
        state.messagesDone >= state.messages
      ) {
        lastDoneAt = now();
        break;
      }
      await sleep(1000);
      while (refreshed.size >= nextProgress) {
        progressWrite?.(
          `  ${new Date(now()).toISOString().slice(11, 19)} simulated: ${refreshed.size.toLocaleString('en-US')} users refreshed\n`,
        );
        nextProgress = (Math.floor(refreshed.size / progressEvery) + 1) * progressEvery;
      }
    }
    finished = true;
  };
  const sampler = async () => {
    while (!finished) {
      sample();
      await sleep(60_000);
    }
  };
  const scheduler = async () => {
    for (let at = cycleStart + periodMs; !finished; at += periodMs) {
      await sleep(at - now());
      if (finished) break;
      const again = await fire();
      if (again.overlapped) cycleOverlaps += 1;
    }
  };

  const pollers = Array.from({ length: sizing.workerMaxConcurrency }, () => poller());
  const tasks = [main(), sampler(), scheduler(), ...pollers];
  try {
    await clock.run(() => finished);
  } finally {
    restoreOutput();
  }
  void tasks;
  setRunning(0);
  sample();

  // --- Results ---------------------------------------------------------------------------------
  const cycleSeconds = (lastDoneAt - cycleStart) / 1000;
  const googleRequests = total(meter.google.requests);
  const floorSeconds = quotaFloorSeconds(options.users, options.googleQps, DEFAULT_GOOGLE_REQUESTS_PER_USER);
  const twice = google.usersGrantedTwice();
  const expectedRevoked = countWhere(options.users, (i) => fraction(i, 3) < revokedRate);
  const usersLost = options.users - expectedRevoked - refreshed.size;

  const cyclesPerMonth = (DAYS_PER_MONTH * 86_400_000) / Math.max(periodMs, lastDoneAt - cycleStart);
  const logsGb = meter.logs.bytes / 1e9;
  const costBreakdownUsd = {
    dynamodb:
      meter.dynamo.writeUnits * PRICES.dynamoWriteRequestUnit + meter.dynamo.readUnits * PRICES.dynamoReadRequestUnit,
    lambda:
      (meter.lambda.durationGbSeconds + meter.lambda.initGbSeconds) * PRICES.lambdaGbSecondArm +
      meter.lambda.invocations * PRICES.lambdaRequest,
    sqs: total(meter.sqs.requests) * PRICES.sqsRequest,
    kms: total(meter.kms.requests) * PRICES.kmsRequest,
    // A scheduled rule's invocations are free; the refresh publishes no custom events.
    eventBridge: 0,
    cloudWatchLogs: logsGb * PRICES.cloudWatchLogsIngestedGb,
  };
  const costPerCycleUsd = Object.values(costBreakdownUsd).reduce((a, b) => a + b, 0);
  const metricNames = new Set([...meter.logs.metricNames, ...MODEL.customMetrics]);
  const fixedMonthlyUsd = {
    kmsKey: PRICES.kmsKeyMonth,
    cloudWatchMetrics: metricNames.size * PRICES.cloudWatchCustomMetricMonth,
  };
  const costPerMonthUsd = costPerCycleUsd * cyclesPerMonth + Object.values(fixedMonthlyUsd).reduce((a, b) => a + b, 0);
  const perUser = (n: number) => n / options.users;

  return {
    users: options.users,
    googleQps: options.googleQps,
    schedule,
    floorSeconds: round(floorSeconds, 1),
    cycleSeconds: round(cycleSeconds, 1),
    cycleVsFloor: round(cycleSeconds / floorSeconds, 4),
    usersRefreshed: refreshed.size,
    usersRefreshedTwice: twice,
    usersRefreshedConcurrently: google.concurrentGrants,
    usersRevoked: revoked,
    usersLost,
    googleRequests,
    google429s: meter.google.throttled,
    googleRequestsPerUser: round(perUser(googleRequests), 4),
    dynamoWriteUnitsPerUser: round(perUser(meter.dynamo.writeUnits), 4),
    dynamoUserItemWriteUnitsPerUser: round(perUser(meter.userItemWriteUnits), 4),
    dynamoReadUnitsPerUser: round(perUser(meter.dynamo.readUnits), 4),
    peakConcurrency: meter.lambda.peakConcurrency,
    meanConcurrency: round(meter.lambda.busyMs / Math.max(1, lastDoneAt - cycleStart), 2),
    cycleOverlaps,
    costPerCycleUsd: round(costPerCycleUsd, 4),
    costPerMonthUsd: round(costPerMonthUsd, 2),
    costBreakdownUsd: mapValues(costBreakdownUsd, (v) => round(v, 4)),
    fixedMonthlyUsd: mapValues(fixedMonthlyUsd, (v) => round(v, 2)),
    cyclesPerMonth: round(cyclesPerMonth, 2),
    requests: {
      dynamodb: {
        ...meter.dynamo.requests,
        readUnits: round(meter.dynamo.readUnits, 1),
        writeUnits: meter.dynamo.writeUnits,
      },
      sqs: meter.sqs.requests,
      kms: meter.kms.requests,
      google: { ...meter.google.requests, throttled429: meter.google.throttled, failed5xx: meter.google.failed },
      lambda: {
        invocations: meter.lambda.invocations,
        coldStarts: meter.lambda.coldStarts,
        durationGbSeconds: round(meter.lambda.durationGbSeconds, 1),
        initGbSeconds: round(meter.lambda.initGbSeconds, 1),
      },
      cloudWatch: { logBytes: meter.logs.bytes, customMetrics: [...metricNames] },
      dispatch: dispatched ?? null,
    },
    perUser: {
      googleRequests: round(perUser(googleRequests), 4),
      dynamoReadUnits: round(perUser(meter.dynamo.readUnits), 4),
      dynamoWriteUnits: round(perUser(meter.dynamo.writeUnits), 4),
      sqsRequests: round(perUser(total(meter.sqs.requests)), 4),
      kmsRequests: round(perUser(total(meter.kms.requests)), 5),
      lambdaGbSeconds: round(perUser(meter.lambda.durationGbSeconds + meter.lambda.initGbSeconds), 6),
      logBytes: round(perUser(meter.logs.bytes), 1),
    },
    settings: {
      ...sizing,
      usersPerMessage,
      batchSize,
      scanSegments,
      workerMemoryMb: memoryMb,
      changeRate,
      usersPerDataKey,
      revokedRate,
      recordIntervalHours: recordIntervalMs / 3_600_000,
      googleFailureRate: options.googleFailureRate ?? 0,
      crashRate: options.crashRate ?? 0,
      rotationRate: options.rotationRate ?? 0,
    },
    model: MODEL,
    prices: PRICES,
    timeline,
    wallSeconds: round((Date.now() - wallStart) / 1000, 1),
  };
}

interface SeedOptions {
  kms: MemoryKms;
  usersPerDataKey: number;
  recordIntervalMs: number;
  changeRate: number;
  cycleStart: number;
}

/**
 * The users a simulation starts with, made on demand: profile, scopes and a real envelope
 * ciphertext of their token under one of `users / usersPerDataKey` data keys (as the
 * exchange's cached data keys left them), and last cycle's job result.
 */
function seededUsers(
  count: number,
  options: SeedOptions,
): UserSeed & { filesOf(userId: string): { size: string; modifiedTime: string }[] } {
  const ciphers = new Map<number, EnvelopeCipher>();
  const keyCount = Math.max(1, Math.ceil(count / options.usersPerDataKey));
  const cipherFor = (group: number) => {
    let cipher = ciphers.get(group);
    if (!cipher) {
      const key = options.kms.generate(TOKEN_PURPOSE);
      cipher = new EnvelopeCipher(
        {
          generateDataKey: () => Promise.resolve(key),
          unwrapDataKey: () => Promise.resolve(key.plaintext),
        },
        { dataKeyMaxUses: Number.MAX_SAFE_INTEGER, dataKeyMaxAgeMs: Number.MAX_SAFE_INTEGER },
      );
      ciphers.set(group, cipher);
    }
    return cipher;
  };
  const userId = (index: number) => `sim-user-${index}`;
  const indexOf = (id: string) => {
    const match = /^sim-user-(\d+)$/.exec(id);
    const index = match ? Number(match[1]) : NaN;
    return Number.isInteger(index) && index < count ? index : undefined;
  };
  const files = (index: number, changed: boolean) => {
    const n = Math.floor(fraction(index, 5) * 4);
    return Array.from({ length: n }, (_, f) => ({
      size: String(1000 + Math.floor(fraction(index, 7 + f) * 50_000)),
      modifiedTime: new Date(
        Date.UTC(2025, 10, 1) + Math.floor(fraction(index, 11 + f) * 86_400_000 * 30) + (changed ? 3_600_000 : 0),
      ).toISOString(),
    }));
  };
  const changed = (index: number) => fraction(index, 9) < options.changeRate;
  const summaryOf = (list: { size: string; modifiedTime: string }[]) => ({
    fileCount: list.length,
    totalBytes: list.reduce((sum, file) => sum + Number(file.size), 0),
    newestModifiedTime: list.reduce<string | null>(
      (newest, file) => (newest && newest > file.modifiedTime ? newest : file.modifiedTime),
      null,
    ),
  });
  return {
    count,
    userId,
    indexOf,
    filesOf: (id) => {
      const index = indexOf(id) ?? 0;
      return files(index, changed(index));
    },
    async record(index): Promise<UserRecord> {
      const id = userId(index);
      const token = tokenOfUser(id);
      // Sign-ins spread over time: neighbouring users in sign-in order share a data key.
      const group = Math.floor(fraction(index, 1) * keyCount);
      const ciphertext = await cipherFor(group).encrypt(token, id);
      // Recorded 1 to `interval` days ago, uniformly: a daily cycle finds 1/interval of them due for a write.
      const intervalDays = Math.max(1, Math.round(options.recordIntervalMs / 86_400_000));
      const daysAgo = 1 + Math.floor(fraction(index, 2) * intervalDays);
      const lastRefreshAt = new Date(options.cycleStart - daysAgo * 86_400_000).toISOString();
      const signedInAt = new Date(
        Date.UTC(2025, 0, 1) + Math.floor(fraction(index, 4) * 300 * 86_400_000),
      ).toISOString();
      return {
        userId: id,
        email: `user${index}@example.com`,
        emailVerified: true,
        name: `Simulated User ${index}`,
        givenName: 'Simulated',
        familyName: `User ${index}`,
        picture: `https://lh3.googleusercontent.com/a/ACg8ocJ${id.padEnd(40, 'x')}=s96-c`,
        locale: 'en',
        status: 'active',
        grantedScopes: [
          'openid',
          'https://www.googleapis.com/auth/userinfo.email',
          'https://www.googleapis.com/auth/userinfo.profile',
          DRIVE_APPDATA,
        ],
        refreshToken: ciphertext,
        tokenVersion: 1,
        // Same lengths as the real RISC hashes (base64 SHA-512, base64 SHA-256), without hashing a million tokens.
        tokenHash: `${id}`.padEnd(88, '='),
        tokenPrefixHash: `${id}`.padEnd(44, '='),
        createdAt: signedInAt,
        updatedAt: lastRefreshAt,
        lastSignInAt: signedInAt,
        tokenStoredAt: signedInAt,
        lastRefreshAt,
        refreshFailures: 0,
        jobs: { 'appdata-summary': { status: 'ok', at: lastRefreshAt, detail: summaryOf(files(index, false)) } },
      };
    },
  };
}

function countWhere(n: number, predicate: (i: number) => boolean): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (predicate(i)) count += 1;
  return count;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function mapValues<T extends Record<string, number>>(record: T, fn: (value: number) => number): T {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)])) as T;
}

/** Routes everything written to stdout and stderr to `sink` until restored (the functions' logs and EMF metrics). */
function captureOutput(sink: (chunk: string) => void): () => void {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = (chunk: unknown, ...rest: unknown[]): boolean => {
      sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
  }
  return () => streams.forEach((stream, i) => (stream.write = originals[i]!));
}
