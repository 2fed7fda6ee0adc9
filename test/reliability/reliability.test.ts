/**
 * The reliability suite (`npm run test:reliability`; also part of `npm test` at a smaller
 * RELIABILITY_SCALE): a fault matrix, a load run, races under fast-check's scheduler, a fuzz
 * run over every route, and a secret scan of everything the run wrote — then a report.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import type { ErrorCode } from '../../lib/errors';
import { RISC_EVENT_TYPES } from '../../lib/risc/events';
import { DynamoUserStore } from '../../lib/store/dynamodb/user-store';
import type { UserStore } from '../../lib/store/users';
import { cipherOf, userStoreOf } from '../support/steps';
import { formatReport, scaled, scanForSecrets, startReliabilityStack, type ReliabilityStack } from './harness';
import {
  codeFor,
  expectIntact,
  expectOwnCiphertext,
  liveAtGoogle,
  newUser,
  postCode,
  rawItem,
  redemptions,
  signedIn,
  withFreshFunctions,
} from './support';

jest.setTimeout(600_000);

let rig: ReliabilityStack;
const results: Record<string, unknown> = {};

beforeAll(async () => {
  rig = await startReliabilityStack();
});

afterAll(async () => {
  if (!rig) return;
  rig.logs.print(formatReport(rig, results));
  await rig.close();
});

const RISC_ISSUER = 'https://accounts.google.com/';
const store = (): UserStore => userStoreOf(rig.stack);
const account = (sub: string) => ({ subject: { subject_type: 'iss-sub', iss: RISC_ISSUER, sub } });

function tokensRevokedEvent(sub: string, options: { iat?: number } = {}): string {
  const token = rig.stack.google.signSecurityEvent({
    aud: rig.stack.clientId,
    events: { [RISC_EVENT_TYPES.tokensRevoked]: account(sub) },
    ...options,
  });
  rig.extraSecrets.add(token);
  return token;
}

const idTokenOf = (sub: string): string => rig.stack.google.signIdToken({ sub, aud: rig.stack.clientId });

const disconnectCall = (sub: string, baseUrl?: string) =>
  rig.call('POST', '/disconnect', {
    ...(baseUrl ? { baseUrl } : {}),
    headers: { 'x-requested-with': 'com.example.app', authorization: `Bearer ${idTokenOf(sub)}` },
  });

const riscCall = (token: string, baseUrl?: string) =>
  rig.call('POST', '/risc', {
    ...(baseUrl ? { baseUrl } : {}),
    headers: { 'content-type': 'application/secevent+jwt' },
    body: token,
  });

/** The planned answer of a 503: the contract's code and a Retry-After. */
function expectUnavailable(answer: { status: number; json?: unknown; headers: Headers }): void {
  expect(answer.status).toBe(503);
  expect(answer.json).toMatchObject({ error: 'upstream_unavailable' });
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
}

// ---------------------------------------------------------------------------------------------
// The fault matrix: each fault with its planned outcome, and nothing half-written.

type GoogleFault = 500 | 503 | 429 | 'hang' | 'reset';
let faultCases = 0;

describe('fault matrix', () => {
  afterEach(() => {
    rig.stack.google.clearFaults();
    rig.kms.clearFaults();
    rig.dynamo.clearFaults();
    rig.sqs.clearFaults();
  });

  describe('POST /authcode', () => {
    it.each<[GoogleFault]>([[500], [503], [429], ['hang'], ['reset']])(
      'Google token endpoint %s during the exchange: 503, nothing stored, the code still redeemable once',
      async (kind) => {
        faultCases += 1;
        const sub = newUser('fx-token');
        const code = codeFor(rig, sub);
        rig.stack.google.injectFault({ endpoint: 'token', kind, sub });

        expectUnavailable(await postCode(rig, code));
        expect(await rawItem(rig, sub)).toBeUndefined();

        // Google never redeemed it: the app's retry of the same code signs the user in.
        const retry = await postCode(rig, code);
        expect(retry.status).toBe(200);
        expect(retry.json).toMatchObject({ userId: sub, offlineAccess: true });
        expect(redemptions(rig, sub)).toBe(1);
      },
    );

    it('Google certs down after the code was redeemed: 503, nothing stored, the refresh token revoked, the next sign-in consents again', async () => {
      faultCases += 1;
      const sub = newUser('fx-certs');
      await withFreshFunctions(rig, async ({ baseUrl }) => {
        rig.stack.google.injectFault({ endpoint: 'certs', kind: 503 });
        const code = codeFor(rig, sub);
        expectUnavailable(await postCode(rig, code, { baseUrl }));
        expect(await rawItem(rig, sub)).toBeUndefined();
        expect(liveAtGoogle(rig, sub)).toBe(false);
        // The spent code is not sent again: the retry is told to sign in again.
        expect((await postCode(rig, code, { baseUrl })).json).toMatchObject({ error: 'invalid_grant' });
      });
      // No forced consent: Google shows the consent screen anyway, since the grant is gone.
      const again = await postCode(rig, codeFor(rig, sub, false));
      expect(again.json).toMatchObject({ userId: sub, offlineAccess: true });
    });

    it.each([
      ['ThrottlingException', 3, 503],
      ['AccessDeniedException', 1, 500],
      ['DisabledException', 1, 500],
    ] as const)(
      'KMS %s while sealing the new refresh token: %s× → %s, nothing stored, the token revoked at Google',
      async (kind, count, status) => {
        faultCases += 1;
        const sub = newUser('fx-kms');
        await withFreshFunctions(rig, async ({ baseUrl }) => {
          rig.kms.injectFault({ operation: 'GenerateDataKey', kind, count });
          const answer = await postCode(rig, codeFor(rig, sub), { baseUrl });
          expect(answer.status).toBe(status);
          expect(answer.json).toMatchObject({ error: status === 503 ? 'upstream_unavailable' : 'internal_error' });
        });
        expect(await rawItem(rig, sub)).toBeUndefined();
        expect(liveAtGoogle(rig, sub)).toBe(false);
        expect((await postCode(rig, codeFor(rig, sub, false))).json).toMatchObject({ offlineAccess: true });
      },
    );

    it('DynamoDB throttling the user write after Google redeemed the code: 503, nothing half-written, the token revoked', async () => {
      faultCases += 1;
      const sub = newUser('fx-ddb-user');
      rig.dynamo.injectFault({ operation: 'UpdateItem', match: `USER#${sub}`, kind: 'throttle', count: 3 });
      expectUnavailable(await postCode(rig, codeFor(rig, sub)));
      expect(await rawItem(rig, sub)).toBeUndefined();
      expect(liveAtGoogle(rig, sub)).toBe(false);
      expect((await postCode(rig, codeFor(rig, sub, false))).json).toMatchObject({ offlineAccess: true });
    });

    it('DynamoDB throttling the exchange ledger: 503 before Google is called; the code still works', async () => {
      faultCases += 1;
      const sub = newUser('fx-ddb-ledger');
      const code = codeFor(rig, sub);
      rig.dynamo.injectFault({ operation: 'PutItem', match: 'AUTHCODE#', kind: 'throttle', count: 3 });
      expectUnavailable(await postCode(rig, code));
      expect(redemptions(rig, sub)).toBe(0);
      expect((await postCode(rig, code)).json).toMatchObject({ userId: sub, offlineAccess: true });
      expect(redemptions(rig, sub)).toBe(1);
    });

    it('a DynamoDB connection reset on the user write: the SDK retries it, the sign-in succeeds once', async () => {
      faultCases += 1;
      const sub = newUser('fx-ddb-reset');
      rig.dynamo.injectFault({ operation: 'UpdateItem', match: `USER#${sub}`, kind: 'reset' });
      expect((await postCode(rig, codeFor(rig, sub))).json).toMatchObject({ userId: sub, offlineAccess: true });
      await expectOwnCiphertext(rig, sub, (await store().getUser(sub))!);
    });
  });

  describe('refresh', () => {
    it.each<[GoogleFault]>([[500], [429], ['hang'], ['reset']])(
      'Google token endpoint %s once during the refresh: retried, the user refreshed, the token kept',
      async (kind) => {
        faultCases += 1;
        const sub = newUser('fx-refresh');
        const before = await signedIn(rig, sub);
        rig.stack.google.injectFault({ endpoint: 'token', kind, sub });
        await withFreshFunctions(rig, async ({ refresh }) => {
          const result = await refresh([sub]);
          expect(result.users).toEqual([{ userId: sub, status: 'refreshed' }]);
          expect(result.batchItemFailures).toEqual([]);
        });
        const after = await expectIntact(rig, sub, before);
        expect(after.lastRefreshAt).toBeDefined();
      },
    );

    it('Google token endpoint 503 on every try: reported failed and handed back to SQS; the record intact', async () => {
      faultCases += 1;
      const sub = newUser('fx-refresh-503');
      const before = await signedIn(rig, sub);
      rig.stack.google.injectFault({ endpoint: 'token', kind: 503, sub, count: 3 });
      await withFreshFunctions(rig, async ({ refresh }) => {
        const result = await refresh([sub]);
        expect(result.users).toEqual([{ userId: sub, status: 'failed' }]);
        expect(result.batchItemFailures).toHaveLength(1);
      });
      const after = await expectIntact(rig, sub, before);
      expect(after.refreshFailures).toBe(1);
      expect(after.lastRefreshError).toBeDefined();
    });

    it.each([
      [403, 'userRateLimitExceeded'],
      [429, 'rateLimitExceeded'],
      [500, 'backendError'],
    ] as const)('Drive %s (%s) once: retried, the job ran, the user refreshed', async (kind, _reason) => {
      faultCases += 1;
      const sub = newUser('fx-drive');
      const before = await signedIn(rig, sub);
      rig.stack.google.injectFault({ endpoint: 'drive', kind, sub });
      await withFreshFunctions(rig, async ({ refresh }) => {
        expect((await refresh([sub])).users).toEqual([{ userId: sub, status: 'refreshed' }]);
      });
      const after = await expectIntact(rig, sub, before);
      expect(after.jobs?.['appdata-summary']?.status).toBe('ok');
    });

    it('Drive 401 (the access token refused): the job reported failed, the grant kept', async () => {
      faultCases += 1;
      const sub = newUser('fx-drive-401');
      const before = await signedIn(rig, sub);
      rig.stack.google.injectFault({ endpoint: 'drive', kind: 401, sub, count: 3 });
      await withFreshFunctions(rig, async ({ refresh }) => {
        const result = await refresh([sub]);
        expect(result.users).toEqual([{ userId: sub, status: 'failed' }]);
      });
      const after = await expectIntact(rig, sub, before);
      expect(after.jobs?.['appdata-summary']?.status).toBe('failed');
      expect(after.refreshFailures).toBe(1);
    });

    it.each([
      ['ThrottlingException', 3],
      ['AccessDeniedException', 1],
      ['DisabledException', 1],
    ] as const)('KMS %s on Decrypt: reported failed, never revoked, the record intact', async (kind, count) => {
      faultCases += 1;
      const sub = newUser('fx-kms-decrypt');
      const before = await signedIn(rig, sub);
      await withFreshFunctions(rig, async ({ refresh }) => {
        rig.kms.injectFault({ operation: 'Decrypt', kind, count });
        const result = await refresh([sub]);
        expect(result.users).toEqual([{ userId: sub, status: 'failed' }]);
      });
      await expectIntact(rig, sub, before);
      expect(liveAtGoogle(rig, sub)).toBe(true);
    });

    it('DynamoDB throttling the lease claim: reported failed for SQS to retry; the record intact', async () => {
      faultCases += 1;
      const sub = newUser('fx-ddb-lease');
      const before = await signedIn(rig, sub);
      rig.dynamo.injectFault({ operation: 'UpdateItem', match: `USER#${sub}`, kind: 'throttle', count: 3 });
      await withFreshFunctions(rig, async ({ refresh }) => {
        const result = await refresh([sub]);
        expect(result.users).toEqual([{ userId: sub, status: 'failed' }]);
        expect(result.batchItemFailures).toHaveLength(1);
      });
      await expectIntact(rig, sub, before);
    });

    it('DynamoDB failing the lease condition (another run holds it): skipped, the record intact', async () => {
      faultCases += 1;
      const sub = newUser('fx-ddb-cond');
      const before = await signedIn(rig, sub);
      rig.dynamo.injectFault({ operation: 'UpdateItem', match: `USER#${sub}`, kind: 'conditional' });
      await withFreshFunctions(rig, async ({ refresh }) => {
        expect((await refresh([sub])).users).toEqual([{ userId: sub, status: 'skipped' }]);
      });
      await expectIntact(rig, sub, before);
    });
  });

  describe('POST /disconnect', () => {
    it('Google revoke 503: 200, the revocation queued as ciphertext, the record disconnected and its profile erased', async () => {
      faultCases += 1;
      const sub = newUser('fx-revoke');
      await signedIn(rig, sub);
      rig.stack.google.injectFault({ endpoint: 'revoke', kind: 503 });
      const answer = await disconnectCall(sub);
      expect(answer.json).toEqual({ userId: sub, disconnected: true });
      const record = await store().getUser(sub);
      expect(record).toMatchObject({ status: 'disconnected', grantedScopes: [] });
      expect(record?.refreshToken).toBeUndefined();
      expect(record?.email).toBeUndefined();
      expect(record?.name).toBeUndefined();
      expect(liveAtGoogle(rig, sub)).toBe(true); // until the worker retries the queued revoke
    });

    it('Google revoke 503 and SQS failing too: 503, nothing destroyed', async () => {
      faultCases += 1;
      const sub = newUser('fx-revoke-sqs');
      const before = await signedIn(rig, sub);
      rig.stack.google.injectFault({ endpoint: 'revoke', kind: 503 });
      rig.sqs.failNextSends(3);
      rig.report.countFault('sqs SendMessage InternalError', 3);
      expectUnavailable(await disconnectCall(sub));
      await expectIntact(rig, sub, before);
    });

    it('Google certs down (cold function): 503, nothing destroyed', async () => {
      faultCases += 1;
      const sub = newUser('fx-disc-certs');
      const before = await signedIn(rig, sub);
      await withFreshFunctions(rig, async ({ baseUrl }) => {
        rig.stack.google.injectFault({ endpoint: 'certs', kind: 503 });
        expectUnavailable(await disconnectCall(sub, baseUrl));
      });
      await expectIntact(rig, sub, before);
    });

    it('DynamoDB failing the disconnect condition once (a racing write): re-read, then disconnected', async () => {
      faultCases += 1;
      const sub = newUser('fx-disc-cond');
      await signedIn(rig, sub);
      rig.dynamo.injectFault({ operation: 'UpdateItem', match: `USER#${sub}`, kind: 'conditional' });
      expect((await disconnectCall(sub)).json).toEqual({ userId: sub, disconnected: true });
      expect((await store().getUser(sub))?.status).toBe('disconnected');
      expect(liveAtGoogle(rig, sub)).toBe(false);
    });

    it('DynamoDB failing to read the record: 503, nothing destroyed', async () => {
      faultCases += 1;
      const sub = newUser('fx-disc-read');
      const before = await signedIn(rig, sub);
      rig.dynamo.injectFault({ operation: 'GetItem', match: `USER#${sub}`, kind: 'internal', count: 3 });
      expectUnavailable(await disconnectCall(sub));
      await expectIntact(rig, sub, before);
      expect(liveAtGoogle(rig, sub)).toBe(true);
    });
  });

  describe('POST /risc', () => {
    it('Google RISC keys down (cold function): 503, the jti not recorded; the redelivery acts', async () => {
      faultCases += 1;
      const sub = newUser('fx-risc-keys');
      const before = await signedIn(rig, sub);
      const set = tokensRevokedEvent(sub, { iat: Math.floor(Date.now() / 1000) + 1 });
      await withFreshFunctions(rig, async ({ baseUrl }) => {
        rig.stack.google.injectFault({ endpoint: 'risc', kind: 503 });
        expectUnavailable(await riscCall(set, baseUrl));
      });
      await expectIntact(rig, sub, before);
      expect((await riscCall(set)).status).toBe(202);
      expect((await store().getUser(sub))?.status).toBe('revoked');
    });

    it('DynamoDB throttling the event claim: 503, nothing acted on; the redelivery acts', async () => {
      faultCases += 1;
      const sub = newUser('fx-risc-ddb');
      const before = await signedIn(rig, sub);
      const set = tokensRevokedEvent(sub, { iat: Math.floor(Date.now() / 1000) + 1 });
      rig.dynamo.injectFault({ operation: 'PutItem', match: 'RISC#', kind: 'throttle', count: 3 });
      expectUnavailable(await riscCall(set));
      await expectIntact(rig, sub, before);
      expect((await riscCall(set)).status).toBe(202);
      expect((await store().getUser(sub))?.status).toBe('revoked');
    });

    it('DynamoDB failing the revoke condition once (a racing write): re-read, then revoked', async () => {
      faultCases += 1;
      const sub = newUser('fx-risc-cond');
      await signedIn(rig, sub);
      rig.dynamo.injectFault({ operation: 'UpdateItem', match: `USER#${sub}`, kind: 'conditional' });
      expect((await riscCall(tokensRevokedEvent(sub, { iat: Math.floor(Date.now() / 1000) + 1 }))).status).toBe(202);
      expect((await store().getUser(sub))?.status).toBe('revoked');
    });
  });

  it('covers at least 25 faults', () => {
    expect(faultCases).toBeGreaterThanOrEqual(25);
    results['fault matrix cases'] = faultCases;
  });
});

// ---------------------------------------------------------------------------------------------
// Load: concurrent exchanges through the HTTP API, then a refresh cycle with Google failing.

describe('load', () => {
  const userCount = scaled(900, 45);
  const duplicateCount = scaled(100, 5);
  const users = Array.from({ length: userCount }, (_, i) => `load-${i.toString().padStart(4, '0')}`);

  it(`${userCount + duplicateCount} concurrent exchanges (${userCount} users, ${duplicateCount} duplicate codes): every answer planned, each code redeemed once, every record decrypting only as its user`, async () => {
    const codes = users.map((sub) => codeFor(rig, sub));
    // Duplicates of spread-out codes, sent at the same moment as their originals.
    const duplicates = Array.from({ length: duplicateCount }, (_, i) => Math.floor((i * userCount) / duplicateCount));
    const sends = [
      ...codes.map((code, i) => ({ user: i, code })),
      ...duplicates.map((i) => ({ user: i, code: codes[i]! })),
    ];
    const answers = await Promise.all(sends.map(({ code }) => postCode(rig, code)));

    // Planned: every answer 200 with that user's profile; a duplicate's is its original's.
    const unplanned = answers.filter((answer, i) => {
      const sub = users[sends[i]!.user]!;
      return answer.status !== 200 || (answer.json as { userId?: string; offlineAccess?: boolean }).userId !== sub;
    });
    expect(unplanned.map((a) => `${a.status} ${a.text.slice(0, 120)}`)).toEqual([]);
    for (let d = 0; d < duplicateCount; d++) {
      expect(answers[userCount + d]!.json).toEqual(answers[duplicates[d]!]!.json);
    }
    for (const sub of users) expect(redemptions(rig, sub)).toBe(1);

    // Every record active, its ciphertext decrypting as its own user only.
    const cipher = cipherOf(rig.stack);
    const records = await Promise.all(users.map((sub) => store().getUser(sub)));
    let lost = 0;
    for (const [i, record] of records.entries()) {
      const sub = users[i]!;
      if (record?.status !== 'active' || !record.refreshToken) {
        lost += 1;
        continue;
      }
      await expect(cipher.decrypt(record.refreshToken, sub)).resolves.toMatch(/^1\/\//);
      const other = users[(i + 1) % userCount]!;
      await expect(cipher.decrypt(record.refreshToken, other)).rejects.toThrow();
    }
    rig.report.recordsLost += lost;
    expect(lost).toBe(0);
    results['load exchanges'] = { sent: sends.length, users: userCount, duplicates: duplicateCount };
  });

  it('a refresh cycle over them with 5% of Google calls failing: every user refreshed or reported, none lost', async () => {
    const { runRefreshCycle } = await import('../../local/refresh-cycle');
    // Each user costs a refresh grant and a Drive list: 5% of those calls fail, spread over kinds.
    const failing = Math.ceil(userCount * 2 * 0.05);
    const kinds: { endpoint: 'token' | 'drive'; kind: 500 | 503 | 429 | 403 | 'reset' }[] = [
      { endpoint: 'token', kind: 503 },
      { endpoint: 'token', kind: 429 },
      { endpoint: 'token', kind: 'reset' },
      { endpoint: 'drive', kind: 500 },
      { endpoint: 'drive', kind: 403 },
    ];
    for (let i = 0; i < failing; i++) rig.stack.google.injectFault({ ...kinds[i % kinds.length]!, count: 1 });
    // And the queue refusing a few entries of the dispatcher's batches.
    rig.sqs.failNextSendEntries(3);
    rig.report.countFault('sqs SendMessageBatch entry InternalError', 3);
    const started = new Date();

    const summary = await runRefreshCycle({ quiet: true });
    rig.stack.google.clearFaults();
    rig.sqs.clearFaults();

    const records = await Promise.all(users.map((sub) => store().getUser(sub)));
    let refreshed = 0;
    let reported = 0;
    let lost = 0;
    for (const [i, record] of records.entries()) {
      if (record?.status !== 'active' || !record.refreshToken) {
        lost += 1;
        continue;
      }
      await expectOwnCiphertext(rig, users[i]!, record);
      if (record.lastRefreshAt && record.lastRefreshAt >= started.toISOString()) refreshed += 1;
      else if (record.refreshFailures > 0 && record.lastRefreshError) reported += 1;
    }
    rig.report.recordsLost += lost;
    expect(lost).toBe(0);
    expect(refreshed + reported).toBe(userCount);
    results['load refresh cycle'] = {
      googleCallsFailing: failing,
      refreshed,
      reported,
      summary: { refreshed: summary.refreshed, failed: summary.failed, revoked: summary.revoked },
    };
  });
});

// ---------------------------------------------------------------------------------------------
// Races: exchange, refresh, disconnect and RISC on one user, interleaved by fast-check's
// scheduler at every call into the user store (the port every state change goes through).

describe('races', () => {
  it('every interleaving: the newest grant survives, nothing revoked is resurrected, nothing live is left unheld', async () => {
    const { AuthCodeExchange } = await import('../../lib/exchange');
    const { Disconnect } = await import('../../lib/disconnect');
    const { UserRefresher } = await import('../../lib/refresh/user-refresh');
    const { GrantRefresher } = await import('../../lib/access-tokens');
    const { createRiscReceiver } = await import('../../lib/risc');
    const { tokenHashes } = await import('../../lib/crypto/envelope');
    const { driveClientFactory } = await import('../../lib/jobs/drive');
    const { googleServices } = await import('../../lib/runtime/google');
    const { idTokenVerifier } = await import('../../lib/runtime/id-tokens');
    const { exchangeLedger, securityEventLedger } = await import('../../lib/runtime/aws');
    const { revocationQueue } = await import('../../lib/runtime/revocation-queue');
    const google = await googleServices();
    const idTokens = await idTokenVerifier();
    const cipher = cipherOf(rig.stack);
    const realStore = new DynamoUserStore(new DynamoDBClient({}), rig.stack.aws.tableName);
    let runs = 0;
    const interleavings = new Set<string>();

    /** The store, each call waiting for the scheduler's turn before it reaches DynamoDB. */
    const scheduledStore = (s: fc.Scheduler, label: (method: string) => string): UserStore =>
      new Proxy(realStore, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            await s.schedule(Promise.resolve(), label(String(property)));
            return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        },
      });

    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.subarray(['refresh', 'disconnect', 'risc'] as const), async (s, others) => {
        runs += 1;
        const sub = newUser('race');
        // Before: a grant stored ten minutes ago; Google then revoked it (RISC tokens-revoked,
        // five minutes ago, delivered only now); the user has just consented again (a new code).
        const first = await google.oauth.redeemCode(codeFor(rig, sub), '');
        await realStore.saveSignIn({
          profile: { userId: sub, emailVerified: true },
          grantedScopes: first.scopes,
          refreshToken: {
            ciphertext: await cipher.encrypt(first.refreshToken!, sub),
            ...tokenHashes(first.refreshToken!),
          },
          now: new Date(Date.now() - 10 * 60_000),
        });
        rig.stack.google.revokeUser(sub);
        const event = tokensRevokedEvent(sub, { iat: Math.floor(Date.now() / 1000) - 5 * 60 });
        const code = codeFor(rig, sub);
        const idToken = idTokenOf(sub);

        const order: string[] = [];
        const storeFor = (op: string) => scheduledStore(s, (method) => `${op}:${method}`);
        const track = <T>(op: string, run: () => Promise<T>) =>
          run().then(
            (value) => {
              order.push(op);
              return { op, ok: true as const, value };
            },
            (error: unknown) => {
              order.push(op);
              return { op, ok: false as const, error };
            },
          );
        const ops = [
          track('exchange', () =>
            new AuthCodeExchange({
              users: storeFor('exchange'),
              exchanges: exchangeLedger(),
              cipher,
              oauth: google.oauth,
              idTokens,
              requiredScopes: google.config.requiredScopes,
              redirectUri: '',
            }).exchange(code),
          ),
          ...others.map((op) => {
            if (op === 'refresh') {
              return track(op, () =>
                new UserRefresher({
                  store: storeFor(op),
                  grants: new GrantRefresher({ store: storeFor(op), cipher, oauth: google.oauth }),
                  jobs: [],
                  driveFor: driveClientFactory({ rootUrl: google.endpoints.apiRootUrl }),
                  leaseMs: 60_000,
                  retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
                }).refresh(sub, { cycle: new Date().toISOString(), owner: `race-${runs}` }),
              );
            }
            if (op === 'disconnect') {
              return track(op, () =>
                new Disconnect({
                  store: storeFor(op),
                  cipher,
                  oauth: google.oauth,
                  idTokens,
                  revocations: revocationQueue(),
                }).disconnect(idToken),
              );
            }
            return track(op, () =>
              createRiscReceiver({
                store: storeFor(op),
                securityEvents: securityEventLedger(),
                audiences: google.trustedClientIds,
                endpoints: google.endpoints,
                issuer: RISC_ISSUER,
              }).receive(event),
            );
          }),
        ];
        const outcomes = await s.waitFor(Promise.all(ops));
        interleavings.add(
          s
            .report()
            .map((task) => task.label)
            .join(' '),
        );

        // Nothing failed unplanned: the exchange signed the user in (Google redeemed the code).
        const exchange = outcomes.find((o) => o.op === 'exchange')!;
        expect(exchange.ok).toBe(true);
        for (const outcome of outcomes) if (!outcome.ok) expect(outcome.error).toHaveProperty('status', 503);

        const record = await realStore.getUser(sub);
        const item = await rawItem(rig, sub);
        if (record?.status === 'active') {
          // Nothing revoked is resurrected: the stored token is live at Google.
          const token = await expectOwnCiphertext(rig, sub, record);
          await expect(google.oauth.refreshAccessToken(token)).resolves.toHaveProperty('accessToken');
          expect(item).toContain('activeUserId');
        } else {
          expect(record?.refreshToken).toBeUndefined();
          expect(record?.tokenHash).toBeUndefined();
          expect(item).not.toContain('activeUserId');
          // Nothing live is left that we do not hold.
          expect(liveAtGoogle(rig, sub)).toBe(false);
        }
        // The newest grant survives whatever came before it, unless the user disconnected.
        if (!others.includes('disconnect')) expect(record?.status).toBe('active');
      }),
      { numRuns: scaled(60, 12), endOnFailure: true },
    );
    results.races = { runs, distinctInterleavings: interleavings.size };
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: random requests over every route. Always a JSON error from the contract's table
// (or API Gateway's own 404 for a route that does not exist), never a 5xx, never a stack trace.

const CONTRACT_ERRORS = new Set<ErrorCode>([
  'csrf_header_missing',
  'invalid_request',
  'payload_too_large',
  'unsupported_media_type',
  'invalid_grant',
  'invalid_id_token',
  'invalid_token',
]);

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** JWT-ish strings: every segment count, JSON and non-JSON parts (null, arrays, numbers), algs and kids. */
const jwtShape = (): fc.Arbitrary<string> => {
  const json = fc.oneof(
    fc.constantFrom(
      'null',
      '{}',
      '[]',
      '"x"',
      '123',
      'true',
      '{"alg":"none"}',
      '{"alg":"HS256","kid":"k"}',
      '{"alg":"RS256","kid":null}',
    ),
    fc
      .record({
        alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', ''),
        kid: fc.oneof(fc.string(), fc.constant(undefined)),
        typ: fc.constantFrom('JWT', 'secevent+jwt', undefined),
      })
      .map((header) => JSON.stringify(header)),
    fc
      .record({
        iss: fc.constantFrom('https://accounts.google.com', 'https://accounts.google.com/', 'evil', 42),
        aud: fc.oneof(fc.constant(DEFAULT_CLIENT_ID), fc.string(), fc.array(fc.string())),
        sub: fc.oneof(fc.string(), fc.integer()),
        exp: fc.oneof(fc.integer(), fc.constant('soon')),
        iat: fc.oneof(fc.integer(), fc.constant(null)),
        jti: fc.string(),
        events: fc.oneof(fc.constant({}), fc.constant(null), fc.dictionary(fc.string(), fc.anything())),
      })
      .map((payload) => JSON.stringify(payload)),
    fc.string(),
  );
  const segment = fc.oneof(json.map(b64url), fc.base64String(), fc.string(), fc.constant(''));
  return fc.oneof(
    fc.tuple(json, json, fc.base64String()).map(([h, p, sig]) => `${b64url(h)}.${b64url(p)}.${sig.replace(/=/g, '')}`),
    fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
  );
};

const DEFAULT_CLIENT_ID = 'local-emulator-client.apps.googleusercontent.com';

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const fuzzRequest = (): fc.Arbitrary<FuzzRequest> => {
  /** `METHOD /path`: mostly the routes that exist, sometimes any method on any path. */
  const route = fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom('POST /authcode', 'POST /disconnect', 'POST /risc', 'GET /connection') },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
          fc.constantFrom(
            '/authcode',
            '/disconnect',
            '/risc',
            '/connection',
            '/authcode/',
            '/AUTHCODE',
            '/',
            '/risc?x=1',
          ),
        )
        .map(([method, path]) => `${method} ${path}`),
    },
  );
  const contentType = fc.option(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=ISO-8859-1',
      'application/secevent+jwt',
      'application/jwt',
      'application/octet-stream',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/vnd.api+json',
      'image/png',
      ';;;',
      '',
    ),
    { nil: undefined },
  );
  const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
  const authCode = fc.oneof(
    fc.constant(''),
    text,
    fc.string({ minLength: 500, maxLength: 600 }),
    fc.constantFrom('4/0AX4XfWh', ' 4/0 ', '1//0abc', 'null', '%00', '../../etc'),
    fc.integer(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string(), fc.string()),
  );
  const body = fc.oneof(
    fc
      .record({
        authCode,
        redirectUri: fc.option(fc.constantFrom('', 'postmessage', 'https://evil', 'x'), { nil: undefined }),
      })
      .map((fields) => JSON.stringify(fields)),
    fc.tuple(text, fc.option(text, { nil: undefined })).map(([code, redirect]) => {
      const form = new URLSearchParams({ authCode: code });
      if (redirect !== undefined) form.set('redirectUri', redirect);
      return form.toString();
    }),
    fc.json(),
    jwtShape(),
    text,
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.integer({ min: 8 * 1024 - 8, max: 20 * 1024 }).map((size) => 'a'.repeat(size)),
    fc.integer({ min: 16 * 1024 - 8, max: 20 * 1024 }).map((size) => `{"authCode":"${'x'.repeat(size)}"}`),
    fc.constant(''),
  );
  const headers = fc.record(
    {
      'x-requested-with': fc.oneof(
        { weight: 4, arbitrary: fc.constant('com.example.app') },
        { weight: 1, arbitrary: fc.constantFrom('', ' ', 'XMLHttpRequest', '\t') },
      ),
      'content-type': contentType,
      authorization: fc.oneof(
        jwtShape().map((token) => `Bearer ${token}`),
        fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer  x.y.z', 'Token abc'),
        text,
      ),
      'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown'),
      'accept-encoding': fc.constantFrom('gzip', '*', 'identity'),
    },
    { requiredKeys: [] },
  );
  return fc.record({ route, headers, body: fc.option(body, { nil: undefined }) }).map(({ route, headers, body }) => {
    const [method = 'POST', path = '/'] = route.split(' ');
    const clean: Record<string, string> = {};
    // fetch refuses header values with control characters or non-Latin-1: such a request never leaves the client.
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && /^[\t\x20-\x7e\x80-\xff]*$/.test(value)) clean[name] = value;
    }
    return {
      method,
      path,
      headers: clean,
      ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
    };
  });
};

const STACK_TRACE = /\bat [\w.<>]+ \(|\.ts:\d+:\d+|node:internal|Error: /;

describe('fuzzing', () => {
  const count = scaled(10_000, 1_000);

  it(`${count} random requests over every route: a JSON error from the table, never a 5xx or a stack trace`, async () => {
    const samples = fc.sample(fuzzRequest(), { numRuns: count, seed: Number(process.env.FUZZ_SEED ?? 20261130) });
    const failures: string[] = [];
    const byStatus: Record<number, number> = {};
    let next = 0;
    const worker = async () => {
      while (next < samples.length) {
        const request = samples[next++]!;
        const answer = await rig.call(request.method, request.path, {
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
        });
        byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
        const body = answer.json as { error?: unknown; message?: unknown } | undefined;
        // HEAD answers carry no body; a route that does not exist gets API Gateway's own 404.
        const shaped =
          request.method === 'HEAD' ||
          (answer.status === 404
            ? typeof body?.message === 'string'
            : CONTRACT_ERRORS.has(body?.error as ErrorCode) && typeof body?.message === 'string');
        const planned = answer.status < 500 && shaped && !STACK_TRACE.test(answer.text);
        if (!planned && failures.length < 20) {
          failures.push(
            `${answer.status} ${answer.text.slice(0, 200)} ← ${request.method} ${request.path} ${JSON.stringify(request.headers).slice(0, 200)} ${String(request.body).slice(0, 120)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    results.fuzzing = { requests: count, byStatus };
    expect(failures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('secret scan', () => {
  it('finds no code, token or secret of the run in any table item, log line, queue message or answer', async () => {
    const scan = await scanForSecrets(rig);
    rig.report.secretsFound = scan.hits.length;
    results['secret scan'] = { secretsSearched: scan.secrets, bytesSearched: scan.bytes, logLines: rig.logs.count };
    expect(scan.hits).toEqual([]);
  });
});
