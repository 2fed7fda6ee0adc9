/**
 * The operator commands. Each reads only what an operator may see (never a token, a code,
 * a ciphertext or a hash) and runs the product's own code paths: `users refresh` is the
 * refresh worker on one user, `users disconnect` is `/disconnect`'s own `Disconnect`.
 * Modules that read the environment are imported only once the target is resolved.
 */
import { standingOf, type ConnectionStatus } from '../lib/grant-standing';
import type { JobResult, UserRecord } from '../lib/store/users';
import type { UserDirectory, UserSummary } from '../lib/store/user-directory';
import type { Output } from './output';
import { UsageError } from './target';

const STATUSES: readonly ConnectionStatus[] = ['active', 'needs_reconnect', 'disconnected'];

async function directory(): Promise<UserDirectory> {
  const { DynamoUserDirectory } = await import('../lib/store/dynamodb/user-directory');
  const { dynamoClient } = await import('../lib/aws/clients/dynamodb');
  const { requireEnv } = await import('../lib/config');
  return new DynamoUserDirectory(dynamoClient(), requireEnv('TABLE_NAME'));
}

/** Every field an operator may see of a record; the token material is left out by name. */
function summarize(record: UserRecord): UserSummary {
  const { refreshToken, tokenHash: _hash, tokenPrefixHash: _prefix, ...visible } = record;
  return { ...visible, hasRefreshToken: refreshToken !== undefined };
}

/** The summary as shown in --json: the contract's status and reason first. */
function view(user: UserSummary): Record<string, unknown> {
  const { status, reason } = standingOf(user);
  const { status: storedStatus, leaseOwner: _owner, userId, ...rest } = user;
  return { userId, status, ...(reason ? { reason } : {}), storedStatus, ...rest };
}

const when = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

export interface ListOptions {
  status?: string;
  reason?: string;
  limit: number;
  cursor?: string;
}

/** `users list`: one page of users (at most `limit`), filtered, with a cursor for the next. */
export async function listUsers(out: Output, options: ListOptions): Promise<void> {
  if (options.status && !STATUSES.includes(options.status as ConnectionStatus))
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  const users = await directory();
  const total = (await users.approximateItemCount().catch(() => undefined)) ?? 0;
  const progress = out.progress('Scanning users', total);
  const matching: UserSummary[] = [];
  let cursor = options.cursor;
  let scanned = 0;
  try {
    do {
      const page = await users.scanUsers({ ...(cursor ? { cursor } : {}), pageSize: Math.max(options.limit, 100) });
      scanned += page.scanned;
      progress.update(scanned, Math.max(total, scanned));
      for (const user of page.users) {
        const { status, reason } = standingOf(user);
        if (options.status && status !== options.status) continue;
        if (options.reason && reason !== options.reason) continue;
        matching.push(user);
      }
      cursor = page.nextCursor;
    } while (cursor && matching.length < options.limit);
  } finally {
    progress.stop();
  }
  const shown = matching.slice(0, options.limit);
  // The page read past the limit: the next one resumes right after the last user shown.
  if (matching.length > options.limit) cursor = users.cursorAfter(shown[shown.length - 1]!.userId);
  out.data({ users: shown.map(view), ...(cursor ? { nextCursor: cursor } : {}) });
  out.table(
    ['user', 'email', 'status', 'reason', 'last refresh', 'failures'],
    shown.map((user) => {
      const { status, reason } = standingOf(user);
      return [user.userId, user.email ?? '-', status, reason ?? '-', when(user.lastRefreshAt), user.refreshFailures];
    }),
    { alignRight: [5] },
  );
  out.line(`${shown.length} user(s)`);
  if (cursor) out.line(`Next page: --cursor ${cursor}`);
}

/** `users show <id>`. */
export async function showUser(out: Output, userId: string): Promise<void> {
  const { userStore } = await import('../lib/runtime/aws');
  const record = await userStore().getUser(userId);
  if (!record) {
    out.data({ userId, status: 'not_connected' });
    out.line(`No user ${userId} (status not_connected).`);
    process.exitCode = 3;
    return;
  }
  const user = summarize(record);
  const cachedUntil = await (await directory()).cachedAccessTokenExpiry(userId);
  out.data({ ...view(user), ...(cachedUntil ? { accessTokenCachedUntil: cachedUntil.toISOString() } : {}) });
  const { status, reason } = standingOf(user);
  out.fields([
    ['user', user.userId],
    ['email', `${user.email ?? '-'}${user.email ? (user.emailVerified ? ' (verified)' : ' (unverified)') : ''}`],
    ['name', user.name ?? '-'],
    ['status', reason ? `${status} (${reason})` : status],
    ['stored status', user.status],
    ['refresh token', user.hasRefreshToken ? `stored (envelope ciphertext, version ${user.tokenVersion})` : 'none'],
    ['granted scopes', user.grantedScopes.join('\n') || '-'],
    ['signed in', when(user.lastSignInAt)],
    ['token stored', when(user.tokenStoredAt)],
    ['last refresh', when(user.lastRefreshAt)],
    ['refresh failures', String(user.refreshFailures)],
    ['last refresh error', user.lastRefreshError ?? '-'],
    ['jobs', jobLines(user.jobs)],
    ['revoked', user.revokedAt ? `${when(user.revokedAt)} (${user.revokedReason ?? '?'})` : '-'],
    ['disconnected', when(user.disconnectedAt)],
    ['refresh lease', user.leaseExpiresAt ? `held until ${new Date(user.leaseExpiresAt).toISOString()}` : '-'],
    ['access token cached', cachedUntil ? `until ${cachedUntil.toISOString()}` : '-'],
  ]);
}

function jobLines(jobs: Record<string, JobResult> | undefined): string {
  if (!jobs || !Object.keys(jobs).length) return '-';
  return Object.entries(jobs)
    .map(([name, job]) => {
      const detail = job.detail ? ` ${JSON.stringify(job.detail)}` : job.reason ? ` (${job.reason})` : '';
      return `${name}: ${job.status} ${when(job.at)}${detail}`;
    })
    .join('\n');
}

/** `users refresh <id>`: the refresh worker's own path for this one user, now. */
export async function refreshUser(out: Output, userId: string): Promise<void> {
  const { refreshWorkerFunction } = await import('../lib/runtime/refresh-worker');
  const { userStore } = await import('../lib/runtime/aws');
  refreshWorkerFunction.prepare();
  const worker = await refreshWorkerFunction.service();
  const message = { kind: 'refresh', cycle: new Date().toISOString(), users: [userId] };
  const result = await worker.processBatch([{ messageId: `ops-${Date.now()}`, body: JSON.stringify(message) }]);
  const outcome = result.users[0]?.status ?? 'skipped';
  const record = await userStore().getUser(userId);
  const user = record ? summarize(record) : undefined;
  out.data({ userId, outcome, ...(user ? { user: view(user) } : {}) });
  const standing = standingOf(user);
  out.fields([
    ['user', userId],
    ['outcome', outcome],
    ['status', standing.reason ? `${standing.status} (${standing.reason})` : standing.status],
    ['last refresh', when(user?.lastRefreshAt)],
    ['last refresh error', user?.lastRefreshError ?? '-'],
    ['jobs', jobLines(user?.jobs)],
  ]);
  if (outcome === 'failed') process.exitCode = 1;
}

/** `users disconnect <id>`: what `/disconnect` does, after a confirmation. */
export async function disconnectUser(
  out: Output,
  userId: string,
  confirm: (question: string) => Promise<boolean>,
): Promise<void> {
  if (!(await confirm(`Disconnect ${userId}? Their grant is revoked at Google and the stored token destroyed.`))) {
    out.note('Not disconnected.');
    process.exitCode = 1;
    return;
  }
  const { disconnectFunction } = await import('../lib/runtime/disconnect');
  disconnectFunction.prepare();
  const result = await (await disconnectFunction.service()).disconnectUser(userId);
  out.data(result);
  out.fields([
    ['user', userId],
    ['disconnected', 'yes'],
    ['revocation at Google', result.revocation],
  ]);
}

/** `stats`: users by status and reason, and what the latest refreshes recorded. */
export async function stats(out: Output): Promise<void> {
  const users = await directory();
  const total = (await users.approximateItemCount().catch(() => undefined)) ?? 0;
  const progress = out.progress('Scanning users', total);
  const byStanding = new Map<string, number>();
  const jobs = new Map<string, { ok: number; failed: number; skipped: number }>();
  let count = 0;
  let scanned = 0;
  let newestRefresh: string | undefined;
  let lastRefreshFailed = 0;
  let neverRefreshed = 0;
  let cursor: string | undefined;
  try {
    do {
      const page = await users.scanUsers(cursor ? { cursor } : {});
      scanned += page.scanned;
      progress.update(scanned, Math.max(total, scanned));
      for (const user of page.users) {
        count += 1;
        const { status, reason } = standingOf(user);
        const key = `${status}\u0000${reason ?? ''}`;
        byStanding.set(key, (byStanding.get(key) ?? 0) + 1);
        if (status !== 'active') continue;
        if (user.lastRefreshAt && (!newestRefresh || user.lastRefreshAt > newestRefresh))
          newestRefresh = user.lastRefreshAt;
        if (!user.lastRefreshAt && !user.refreshFailures) neverRefreshed += 1;
        if (user.refreshFailures > 0) lastRefreshFailed += 1;
        for (const [name, job] of Object.entries(user.jobs ?? {})) {
          const tally = jobs.get(name) ?? { ok: 0, failed: 0, skipped: 0 };
          tally[job.status] += 1;
          jobs.set(name, tally);
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
  } finally {
    progress.stop();
  }
  const standings = [...byStanding.entries()]
    .map(([key, users]) => {
      const [status = '', reason = ''] = key.split('\u0000');
      return { status, ...(reason ? { reason } : {}), users };
    })
    .sort((a, b) => b.users - a.users);
  const lastCycle = {
    newestRefreshAt: newestRefresh ?? null,
    activeUsersWhoseLastRefreshFailed: lastRefreshFailed,
    activeUsersNeverRefreshed: neverRefreshed,
    jobs: Object.fromEntries(jobs),
  };
  out.data({ users: count, byStatus: standings, lastCycle });
  out.line(`${count} user(s)`);
  out.table(
    ['status', 'reason', 'users'],
    standings.map((row) => [row.status, row.reason ?? '-', row.users]),
    { alignRight: [2] },
  );
  out.line('Last cycle (as each active user’s latest refresh recorded it):');
  out.fields([
    ['newest refresh', when(newestRefresh)],
    ['last refresh failed', String(lastRefreshFailed)],
    ['never refreshed', String(neverRefreshed)],
  ]);
  if (jobs.size)
    out.table(
      ['job', 'ok', 'failed', 'skipped'],
      [...jobs.entries()].map(([name, tally]) => [name, tally.ok, tally.failed, tally.skipped]),
      { alignRight: [1, 2, 3] },
    );
}
