/**
 * The operator CLI as operators run it: a child process (`tsx ops/main.ts`, what `npm run ops`
 * and the package bin run) against a local stack — DynamoDB, KMS, SQS and the Google emulator
 * over HTTP, users signed in through the real exchange. Nothing it prints may hold a token,
 * a code or the client secret.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LOCAL_CLIENT } from '../../local/google-emulator';
import type { HttpApi } from '../../local/http-api';
import { signIn, storedRefreshToken, userStoreOf } from '../support/steps';
import { startTestStack, type TestStack } from '../support/stack';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const CLI = join(ROOT, 'ops/main.ts');
const RUN_TIMEOUT_MS = 60_000;

let stack: TestStack;
let api: HttpApi;
let dir: string;
/** Every byte any CLI run printed, scanned for secrets at the end. */
const printed: string[] = [];
const secrets = new Set<string>();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with the stack's environment (what the functions read), or `env` instead. */
function ops(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [TSX, CLI, ...args],
      { cwd: ROOT, env: options.env ?? { ...process.env, POWERTOOLS_LOG_LEVEL: 'DEBUG' }, timeout: RUN_TIMEOUT_MS },
      (error, stdout, stderr) => {
        printed.push(stdout, stderr);
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

const json = (run: Run): Record<string, unknown> => {
  if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
};

beforeAll(async () => {
  stack = await startTestStack();
  const exchange = await import('../../functions/exchange');
  api = await stack.serve({ 'POST /authcode': exchange.handler });
  dir = await mkdtemp(join(tmpdir(), 'ops-cli-'));
  const store = userStoreOf(stack);
  for (const sub of ['ops-ada', 'ops-bob', 'ops-cy', 'ops-revoked']) {
    await signIn(stack, api, sub);
    secrets.add(await storedRefreshToken(stack, store, sub));
  }
  await store.markRevoked('ops-revoked', { reason: 'revoked', detail: 'invalid_grant' }, new Date());
  secrets.add(stack.google.clientSecret(DEFAULT_LOCAL_CLIENT.clientId));
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('npm run ops', () => {
  it(
    'users list: an aligned table of every user, with status and reason',
    async () => {
      const run = await ops(['users', 'list']);
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`Target: the environment (table ${stack.aws.tableName})`);
      const lines = run.stdout.split('\n');
      const header = lines.find((line) => line.includes('status') && line.includes('reason'))!;
      const ada = lines.find((line) => line.includes('ops-ada'))!;
      expect(ada).toMatch(/│ active\s+│ -/);
      expect(ada.indexOf('│ active')).toBe(header.indexOf('│ status'));
      expect(lines.find((line) => line.includes('ops-revoked'))).toMatch(/needs_reconnect\s+│ revoked/);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'users list --json --status --limit: filtered pages with a cursor that resumes where the page ended',
    async () => {
      const first = json(await ops(['users', 'list', '--json', '--status', 'active', '--limit', '2']));
      const firstUsers = first.users as { userId: string; status: string }[];
      expect(firstUsers).toHaveLength(2);
      expect(firstUsers.every((user) => user.status === 'active')).toBe(true);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = json(
        await ops(['users', 'list', '--json', '--status', 'active', '--cursor', String(first.nextCursor)]),
      );
      const all = [...firstUsers, ...(second.users as { userId: string }[])].map((user) => user.userId).sort();
      expect(all).toEqual(['ops-ada', 'ops-bob', 'ops-cy']);

      const revoked = json(await ops(['users', 'list', '--json', '--reason', 'revoked']));
      expect((revoked.users as { userId: string }[]).map((user) => user.userId)).toEqual(['ops-revoked']);
    },
    RUN_TIMEOUT_MS * 2,
  );

  it(
    'users show: the record without any token material',
    async () => {
      const run = await ops(['users', 'show', 'ops-ada']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/refresh token\s+│ stored \(envelope ciphertext/);
      const shown = json(await ops(['users', 'show', 'ops-ada', '--json']));
      expect(shown).toMatchObject({ userId: 'ops-ada', status: 'active', hasRefreshToken: true });
      expect(Object.keys(shown)).not.toEqual(expect.arrayContaining(['refreshToken']));
      expect(shown).not.toHaveProperty('tokenHash');
      expect(shown).not.toHaveProperty('tokenPrefixHash');

      const missing = await ops(['users', 'show', 'nobody']);
      expect(missing.code).toBe(3);
      expect(missing.stdout).toContain('not_connected');
    },
    RUN_TIMEOUT_MS * 3,
  );

  it(
    "users refresh: runs the worker's path for the user now and shows the outcome",
    async () => {
      stack.google.seedDriveFile('ops-bob', { name: 'notes.json', size: 42 });
      stack.google.clearRequests();
      const refreshed = json(await ops(['users', 'refresh', 'ops-bob', '--json']));
      expect(refreshed).toMatchObject({
        userId: 'ops-bob',
        outcome: 'refreshed',
        user: {
          status: 'active',
          jobs: { 'appdata-summary': { status: 'ok', detail: { fileCount: 1, totalBytes: 42 } } },
        },
      });
      const grants = stack.google
        .requests()
        .filter(
          (entry) => entry.endpoint === 'token' && entry.grantType === 'refresh_token' && entry.sub === 'ops-bob',
        );
      expect(grants).toHaveLength(1);

      const human = await ops(['users', 'refresh', 'ops-revoked']);
      expect(human.stdout).toMatch(/outcome\s+│ skipped/);
      expect(human.stdout).toMatch(/status\s+│ needs_reconnect \(revoked\)/);
    },
    RUN_TIMEOUT_MS * 2,
  );

  it(
    'users disconnect: asks first, and with --yes revokes at Google and destroys the token as /disconnect does',
    async () => {
      const declined = await ops(['users', 'disconnect', 'ops-cy'], { stdin: 'n\n' });
      expect(declined.code).toBe(1);
      expect(declined.stderr).toContain('Not disconnected');
      expect((await userStoreOf(stack).getUser('ops-cy'))?.status).toBe('active');

      const done = json(await ops(['users', 'disconnect', 'ops-cy', '--yes', '--json']));
      expect(done).toEqual({ userId: 'ops-cy', disconnected: true, revocation: 'revoked' });
      const record = await userStoreOf(stack).getUser('ops-cy');
      expect(record).toMatchObject({ status: 'disconnected' });
      expect(record?.refreshToken).toBeUndefined();
      expect(stack.google.tokenState('ops-cy').refreshTokenActive).toBe(false);
    },
    RUN_TIMEOUT_MS * 2,
  );

  it(
    'stats: users by status and reason, and what the latest refreshes recorded',
    async () => {
      const counted = json(await ops(['stats', '--json']));
      expect(counted.users).toBe(4);
      expect(counted.byStatus).toEqual(
        expect.arrayContaining([
          { status: 'active', users: 2 },
          { status: 'needs_reconnect', reason: 'revoked', users: 1 },
          { status: 'disconnected', reason: 'user_disconnected', users: 1 },
        ]),
      );
      expect(counted.lastCycle).toMatchObject({
        newestRefreshAt: expect.any(String),
        jobs: { 'appdata-summary': { ok: 1, failed: 0, skipped: 0 } },
      });
      const human = await ops(['stats']);
      expect(human.stdout).toMatch(/needs_reconnect\s+│ revoked\s+│\s+1 │/);
    },
    RUN_TIMEOUT_MS * 2,
  );

  it(
    'finds the running npm start stack through its env file when the environment names none',
    async () => {
      const file = join(dir, 'stack-env.json');
      const { TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION } = process.env;
      await writeFile(file, JSON.stringify({ TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION }));
      const env = {
        ...bareEnv(),
        LOCAL_STACK_ENV_FILE: file,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      };
      const run = await ops(['users', 'list', '--json'], { env });
      expect(run.stderr).toContain('Target: the npm start stack');
      expect((json(run).users as unknown[]).length).toBe(4);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'says clearly when there is no target, or no AWS credentials for a stack',
    async () => {
      const none = await ops(['stats'], { env: { ...bareEnv(), LOCAL_STACK_ENV_FILE: join(dir, 'absent.json') } });
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('No target. Pass --stack <name>');

      const noCredentials = await ops(['stats', '--stack', 'GoogleOfflineAccess', '--region', 'eu-west-1'], {
        env: {
          ...bareEnv(),
          AWS_CONFIG_FILE: join(dir, 'no-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });
      expect(noCredentials.code).toBe(1);
      expect(noCredentials.stderr).toContain('No AWS credentials found');
      expect(noCredentials.stderr).not.toMatch(/\n\s+at /);

      const usage = await ops(['users', 'frobnicate']);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('Unknown command');
    },
    RUN_TIMEOUT_MS * 3,
  );

  afterAll(() => {
    // Everything printed by every run: no token, code or client secret.
    const everything = printed.join('\n');
    for (const secret of [...secrets, ...stack.google.issuedSecrets()]) expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/ya29\.|1\/\/|"refreshToken"|"accessToken"/);
  });
});

/** A shell with none of the stack's variables or AWS credentials. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  return env;
}
