/**
 * A whole cycle at scale through `runRefreshCycle` (what `npm run refresh` and the dev
 * server run): 1,000 users whose tokens were encrypted by several exchange instances (each
 * with its own data key) are refreshed for a handful of KMS requests.
 */
import { tokenHashes } from '../../lib/crypto/envelope';
import { concurrencyLimit } from '../../lib/refresh/concurrency';
import { startTestStack, type TestStack } from '../support/stack';
import { cipherOf, userStoreOf } from '../support/steps';

const USERS = 1000;
/** Exchange Lambdas that signed users in, each caching its own data key. */
const EXCHANGE_INSTANCES = 4;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
  Object.assign(process.env, {
    GOOGLE_QPS: '100000',
    REFRESH_USER_CONCURRENCY: '16',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
}, 30_000);

afterAll(async () => {
  await stack?.close();
});

/**
 * Signs users in with real Google emulator codes, redeemed and stored the way the exchange
 * does it (refresh token encrypted, RISC hashes), minus its HTTP hop, ID-token check and
 * replay record, which the exchange's own tests cover: this test is about the refresh.
 */
async function signInUsers(subs: string[]): Promise<void> {
  const { googleServices } = await import('../../lib/runtime/google');
  const { oauth } = await googleServices();
  const store = userStoreOf(stack);
  const ciphers = Array.from({ length: EXCHANGE_INSTANCES }, () => cipherOf(stack));
  const limit = concurrencyLimit(32);
  await Promise.all(
    subs.map((userId, i) =>
      limit(async () => {
        const { code } = stack.google.authorize({ sub: userId, forceConsent: true });
        const tokens = await oauth.redeemCode(code, '');
        const refreshToken = tokens.refreshToken!;
        await store.saveSignIn({
          profile: { userId, emailVerified: true },
          grantedScopes: tokens.scopes,
          refreshToken: {
            ciphertext: await ciphers[i % EXCHANGE_INSTANCES]!.encrypt(refreshToken, userId),
            ...tokenHashes(refreshToken),
          },
          now: new Date(),
        });
      }),
    ),
  );
}

const totalCount = (counts: Record<string, number>) => Object.values(counts).reduce((sum, count) => sum + count, 0);

describe('npm run refresh (runRefreshCycle)', () => {
  it('refreshes 1,000 users with at most 10 KMS requests', async () => {
    const subs = Array.from({ length: USERS }, (_, i) => `bulk-${i}`);
    await signInUsers(subs);
    const kmsBefore = await stack.aws.kmsRequestCounts();
    stack.google.clearRequests();

    const { runRefreshCycle } = await import('../../local/refresh-cycle');
    const summary = await runRefreshCycle({ quiet: true });

    expect(summary).toMatchObject({ refreshed: USERS, revoked: 0, failed: 0, skipped: 0, failedMessages: 0 });
    expect(summary.dispatched.users).toBe(USERS);
    const driveCalls = stack.google.requests().filter((entry) => entry.endpoint === 'drive');
    expect(new Set(driveCalls.map((entry) => entry.sub)).size).toBe(USERS);
    expect(driveCalls.every((entry) => entry.freshToken)).toBe(true);

    // moto keeps no request counts: there the cycle reports 'n/a'.
    const kmsAfter = await stack.aws.kmsRequestCounts();
    if (Object.keys(kmsAfter).length) {
      const requests = totalCount(kmsAfter) - totalCount(kmsBefore);
      expect(summary.kmsRequests).toBe(requests);
      expect(requests).toBeLessThanOrEqual(10);
      // One unwrap per data key the exchange instances used.
      expect((kmsAfter.Decrypt ?? 0) - (kmsBefore.Decrypt ?? 0)).toBe(EXCHANGE_INSTANCES);
    }
    // A thousand sign-ins and refreshes: minutes on a loaded 2-core machine, seconds on a quiet one.
  }, 300_000);
});
