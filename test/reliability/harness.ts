/**
 * The reliability suite's stack and report. The stack is the integration tests' (the real
 * handlers behind the local HTTP API, the Google, KMS and SQS emulators, dynalite) with a
 * fault-injecting proxy in front of DynamoDB and every emulator's fault injection within
 * reach. The report counts what the suite did — requests, faults actually answered, outcomes,
 * records lost, secrets found — and is printed when the suite ends.
 *
 * `RELIABILITY_SCALE` (0 < scale ≤ 1, default 1) shrinks the load and fuzz sizes: `npm test`
 * runs the suite at a small scale to keep CI short, `npm run test:reliability` at full size.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startDynamoDb } from '../../local/aws/dynamodb';
import { startDynamoFaultProxy, type DynamoFaultProxy } from '../../local/aws/dynamodb-fault-proxy';
import type { LocalService } from '../../local/aws/local-service';
import { DEFAULT_LOCAL_CLIENT } from '../../local/google-emulator';
import type { HttpApi } from '../../local/http-api';
import { startKmsEmulator, type KmsEmulator } from '../../local/kms-emulator';
import { startSqsEmulator, type SqsEmulator } from '../../local/sqs-emulator';
import { startTestStack, type TestStack } from '../support/stack';

/** How much of the full suite runs: 1 (`npm run test:reliability`) or less (`npm test`). */
export const SCALE = scaleFromEnv(process.env.RELIABILITY_SCALE);

function scaleFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!(value > 0 && value <= 1)) throw new Error(`RELIABILITY_SCALE must be in (0, 1], got "${raw}"`);
  return value;
}

/** `full` scaled, never below `min`. */
export const scaled = (full: number, min: number): number => Math.max(min, Math.round(full * SCALE));

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, when it is JSON. */
  json?: unknown;
}

/** What the suite did, as the report prints it. */
export class ReliabilityReport {
  requests = 0;
  readonly outcomes: Record<string, number> = {};
  readonly plannedFaults: Record<string, number> = {};
  recordsLost = 0;
  secretsFound = 0;
  readonly notes: string[] = [];

  countAnswer(status: number): void {
    this.requests += 1;
    this.outcomes[status] = (this.outcomes[status] ?? 0) + 1;
  }

  countFault(kind: string, count = 1): void {
    this.plannedFaults[kind] = (this.plannedFaults[kind] ?? 0) + count;
  }
}

/** Every structured log line the functions write, kept out of the test output (the secret scan reads them). */
export class LogSink {
  private readonly lines: string[] = [];
  private readonly originals = {
    out: process.stdout.write.bind(process.stdout),
    err: process.stderr.write.bind(process.stderr),
  };

  start(): void {
    const tap =
      (original: typeof process.stdout.write) =>
      (chunk: unknown, ...rest: unknown[]): boolean => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
        if (text.startsWith('{"level"') || text.startsWith('{"_aws"')) {
          this.lines.push(text);
          return true;
        }
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      };
    process.stdout.write = tap(this.originals.out);
    process.stderr.write = tap(this.originals.err);
  }

  text(): string {
    return this.lines.join('');
  }

  get count(): number {
    return this.lines.length;
  }

  restore(): void {
    process.stdout.write = this.originals.out;
    process.stderr.write = this.originals.err;
  }

  /** Writes past the sink (the report). */
  print(text: string): void {
    this.originals.out(text);
  }
}

export interface CallInit {
  headers?: Record<string, string>;
  body?: string | Buffer;
  baseUrl?: string;
}

export interface ReliabilityStack {
  stack: TestStack;
  api: HttpApi;
  dynamo: DynamoFaultProxy;
  /** dynalite itself, behind the proxy: the scan reads it without faults. */
  dynamoDirectUrl: string;
  kms: KmsEmulator;
  sqs: SqsEmulator;
  report: ReliabilityReport;
  logs: LogSink;
  /** Every HTTP answer body of the run, for the secret scan. */
  bodies: string[];
  /** Values the suite made itself (security event tokens): scanned for too. */
  extraSecrets: Set<string>;
  call(
    method: string,
    path: string,
    init?: { headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<ApiAnswer>;
  close(): Promise<void>;
}

export async function startReliabilityStack(): Promise<ReliabilityStack> {
  const logs = new LogSink();
  logs.start();
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  const owned: LocalService[] = [];
  const dynalite = await startDynamoDb();
  owned.push(dynalite);
  const dynamo = await startDynamoFaultProxy(dynalite.url);
  owned.push(dynamo);
  const kms = await startKmsEmulator();
  owned.push(kms);
  const sqs = await startSqsEmulator();
  owned.push(sqs);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    // Pacing is not what this suite measures; failures are.
    GOOGLE_QPS: '100000',
    REFRESH_USER_CONCURRENCY: '32',
    REFRESH_RETRY_BASE_MS: '5',
    REFRESH_JOBS: 'appdata-summary',
    DISPATCH_SCAN_SEGMENTS: '2',
  });
  const stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  const disconnect = await import('../../functions/disconnect');
  const risc = await import('../../functions/risc');
  const connection = await import('../../functions/connection');
  const api = await stack.serve({
    'POST /authcode': exchange.handler,
    'POST /disconnect': disconnect.handler,
    'POST /risc': risc.handler,
    'GET /connection': connection.handler,
  });
  const report = new ReliabilityReport();
  const bodies: string[] = [];

  return {
    stack,
    api,
    dynamo,
    dynamoDirectUrl: dynalite.url,
    kms,
    sqs,
    report,
    logs,
    bodies,
    extraSecrets: new Set(),
    async call(method, path, init: CallInit = {}) {
      const response = await fetch(`${init.baseUrl ?? api.url}${path}`, {
        method,
        headers: init.headers ?? {},
        ...(init.body !== undefined ? { body: init.body } : {}),
      });
      const text = await response.text();
      bodies.push(text);
      report.countAnswer(response.status);
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async close() {
      logs.restore();
      await stack.close();
      for (const service of owned.reverse()) await service.close();
    },
  };
}

/** Every item of the table, as raw JSON (read from dynalite itself, past the fault proxy). */
export async function tableItems(rig: ReliabilityStack): Promise<Record<string, AttributeValue>[]> {
  const dynamo = new DynamoDBClient({ endpoint: rig.dynamoDirectUrl });
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await dynamo.send(
        new ScanCommand({ TableName: rig.stack.aws.tableName, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } finally {
    dynamo.destroy();
  }
  return items;
}

/** Every message still on the refresh queue (bodies only; they stay invisible afterwards). */
export async function queueMessages(rig: ReliabilityStack): Promise<string[]> {
  const sqs = new SQSClient({});
  const bodies: string[] = [];
  try {
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: rig.stack.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
      );
      if (!out.Messages?.length) break;
      bodies.push(...out.Messages.map((message) => message.Body ?? ''));
    }
  } finally {
    sqs.destroy();
  }
  return bodies;
}

/**
 * The secret scan: every code, token and ID token Google issued in the run, every security
 * event token the suite made and the client secret, searched for in every table item, log
 * line, queue message and HTTP answer. Returns where each hit was (never the value).
 */
export async function scanForSecrets(
  rig: ReliabilityStack,
): Promise<{ hits: string[]; secrets: number; bytes: number }> {
  const secrets = [...rig.stack.google.issuedSecrets(), ...rig.extraSecrets, DEFAULT_LOCAL_CLIENT.clientSecret];
  const haystacks: [string, string][] = [
    ['table', JSON.stringify(await tableItems(rig))],
    ['logs', rig.logs.text()],
    ['queue', (await queueMessages(rig)).join('\n')],
    ['answers', rig.bodies.join('\n')],
  ];
  const hits: string[] = [];
  for (const [where, text] of haystacks) {
    for (const secret of secrets) if (text.includes(secret)) hits.push(`${where}: a ${secret.slice(0, 4)}… value`);
  }
  return { hits, secrets: secrets.length, bytes: haystacks.reduce((sum, [, text]) => sum + text.length, 0) };
}

/** The printed report. */
export function formatReport(rig: ReliabilityStack, extra: Record<string, unknown>): string {
  const { report } = rig;
  const googleFaults: Record<string, number> = {};
  for (const entry of rig.stack.google.requests()) {
    if (entry.fault !== undefined) {
      const key = `google ${entry.endpoint} ${String(entry.fault)}`;
      googleFaults[key] = (googleFaults[key] ?? 0) + 1;
    }
  }
  const awsFaults: Record<string, number> = {};
  for (const [key, count] of Object.entries(rig.kms.injectedFaults())) awsFaults[`kms ${key}`] = count;
  for (const [key, count] of Object.entries(rig.dynamo.injectedFaults())) awsFaults[`dynamodb ${key}`] = count;
  const faults = { ...googleFaults, ...awsFaults, ...report.plannedFaults };
  const total = Object.values(faults).reduce((sum, count) => sum + count, 0);
  const lines = [
    '',
    `reliability report (RELIABILITY_SCALE=${SCALE})`,
    `  requests sent to the HTTP API: ${report.requests}`,
    `  outcomes by status: ${JSON.stringify(report.outcomes)}`,
    `  faults injected: ${total}`,
    ...Object.entries(faults)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, count]) => `    ${kind}: ${count}`),
    ...Object.entries(extra).map(
      ([key, value]) => `  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
    ),
    `  records lost: ${report.recordsLost}`,
    `  secrets found: ${report.secretsFound}`,
    ...report.notes.map((note) => `  note: ${note}`),
    '',
  ];
  return lines.join('\n');
}
