/**
 * The user store in memory, with the DynamoDB adapter's conditions and DynamoDB's bill: each
 * request is charged the read or write units of the real item's size. A million users fit
 * because seeded users are made on demand (`UserSeed`) and only records that were written
 * are kept.
 */
import type {
  ActiveUsersPage,
  JobResult,
  RefreshOutcome,
  Revocation,
  ScanCursor,
  StoredRefreshToken,
  UserProfile,
  UserRecord,
  UserStore,
} from '../../lib/store/users';
import { itemSize, readUnits, writeUnits } from './item-size';
import type { Meter } from './meter';

/** Users that exist before the simulation starts, made on demand from their index. */
export interface UserSeed {
  count: number;
  userId(index: number): string;
  /** The index of a seeded user's ID; undefined for any other ID. */
  indexOf(userId: string): number | undefined;
  record(index: number): Promise<UserRecord>;
}

export interface MemoryUserStoreOptions {
  seed?: UserSeed;
  meter?: Meter;
  /** Awaited before each request (latency, CPU): the simulation's hook. */
  beforeRequest?: () => Promise<void>;
}

/** Shared by every client of one store. */
class Table {
  readonly written = new Map<string, UserRecord>();
}

const copy = (record: UserRecord): UserRecord => ({
  ...record,
  grantedScopes: [...record.grantedScopes],
  ...(record.jobs ? { jobs: copyJobs(record.jobs) } : {}),
});

function copyJobs(jobs: Record<string, JobResult>): Record<string, JobResult> {
  const copied: Record<string, JobResult> = {};
  for (const [name, result] of Object.entries(jobs))
    copied[name] = { ...result, ...(result.detail ? { detail: { ...result.detail } } : {}) };
  return copied;
}

export class MemoryUserStore implements UserStore {
  private readonly seed: UserSeed | undefined;
  private readonly meter: Meter | undefined;
  private readonly beforeRequest: () => Promise<void>;

  constructor(
    options: MemoryUserStoreOptions = {},
    private readonly table = new Table(),
  ) {
    this.seed = options.seed;
    this.meter = options.meter;
    this.beforeRequest = options.beforeRequest ?? (() => Promise.resolve());
  }

  /** A client of the same table whose requests wait on other hooks (one per execution environment). */
  withHooks(beforeRequest: () => Promise<void>): MemoryUserStore {
    return new MemoryUserStore(
      { ...(this.seed ? { seed: this.seed } : {}), ...(this.meter ? { meter: this.meter } : {}), beforeRequest },
      this.table,
    );
  }

  async getUser(userId: string, consistent = true): Promise<UserRecord | undefined> {
    await this.beforeRequest();
    const record = await this.load(userId);
    this.meter?.dynamoRequest('GetItem', { read: readUnits(record ? sizeOf(record) : 1, consistent) });
    return record && copy(record);
  }

  async getUsers(userIds: readonly string[]): Promise<UserRecord[]> {
    const unique = [...new Set(userIds)];
    const found: UserRecord[] = [];
    for (let start = 0; start < unique.length; start += 100) {
      await this.beforeRequest();
      let units = 0;
      for (const userId of unique.slice(start, start + 100)) {
        const record = await this.load(userId);
        units += readUnits(record ? sizeOf(record) : 1, false);
        if (record) found.push(copy(record));
      }
      this.meter?.dynamoRequest('BatchGetItem', { read: units });
    }
    return found;
  }

  async saveSignIn(input: {
    profile: UserProfile;
    grantedScopes: string[];
    refreshToken?: StoredRefreshToken;
    now: Date;
  }): Promise<UserRecord> {
    const at = input.now.toISOString();
    return this.write(input.profile.userId, (before) => {
      const record: UserRecord = {
        ...(before ?? { createdAt: at, status: 'no_refresh_token', tokenVersion: 0, refreshFailures: 0 }),
        ...input.profile,
        grantedScopes: input.grantedScopes,
        updatedAt: at,
        lastSignInAt: at,
      };
      if (input.refreshToken) {
        Object.assign(record, {
          refreshToken: input.refreshToken.ciphertext,
          tokenHash: input.refreshToken.tokenHash,
          tokenPrefixHash: input.refreshToken.tokenPrefixHash,
          tokenStoredAt: at,
          status: 'active',
          tokenVersion: record.tokenVersion + 1,
          refreshFailures: 0,
        });
        for (const key of ['revokedAt', 'revokedReason', 'disconnectedAt', 'lastRefreshError'] as const)
          delete record[key];
      }
      return record;
    }) as Promise<UserRecord>;
  }

  async claimLease(userId: string, owner: string, leaseMs: number, nowMs: number): Promise<UserRecord | undefined> {
    return this.write(userId, (before) =>
      before?.refreshToken && before.status === 'active' && !((before.leaseExpiresAt ?? 0) >= nowMs)
        ? { ...before, leaseOwner: owner, leaseExpiresAt: nowMs + leaseMs }
        : undefined,
    );
  }

  async releaseLease(userId: string, owner: string): Promise<void> {
    await this.write(userId, (before) => {
      if (before?.leaseOwner !== owner) return undefined;
      const { leaseOwner: _o, leaseExpiresAt: _e, ...rest } = before;
      return rest;
    });
  }

  async replaceRefreshToken(
    userId: string,
    expectedVersion: number,
    token: StoredRefreshToken,
    now: Date,
  ): Promise<boolean> {
    const written = await this.write(userId, (before) =>
      before?.tokenVersion === expectedVersion && before.status === 'active'
        ? {
            ...before,
            refreshToken: token.ciphertext,
            tokenHash: token.tokenHash,
            tokenPrefixHash: token.tokenPrefixHash,
            tokenStoredAt: now.toISOString(),
            updatedAt: now.toISOString(),
            tokenVersion: expectedVersion + 1,
          }
        : undefined,
    );
    return written !== undefined;
  }

  async finishRefresh(userId: string, owner: string, outcome: RefreshOutcome): Promise<void> {
    await this.write(userId, (before) => {
      if (!before) return undefined;
      const after = withOutcome(before, outcome);
      if (before.leaseOwner === owner) {
        delete after.leaseOwner;
        delete after.leaseExpiresAt;
      }
      return after;
    });
  }

  async recordRefresh(userId: string, outcome: RefreshOutcome): Promise<void> {
    await this.write(userId, (before) => before && withOutcome(before, outcome));
  }

  async markRevoked(userId: string, revocation: Revocation, now: Date, expectedVersion?: number): Promise<boolean> {
    return this.endGrant(userId, expectedVersion, {
      status: 'revoked',
      reason: revocation.reason,
      revokedReason: revocation.detail,
      revokedAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
  }

  async markDisconnected(userId: string, now: Date, expectedVersion?: number): Promise<boolean> {
    return this.endGrant(userId, expectedVersion, {
      status: 'disconnected',
      reason: 'user_disconnected',
      disconnectedAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
  }

  async findUsersByTokenHash(tokenHash: string): Promise<string[]> {
    await this.beforeRequest();
    return [...this.table.written.values()].filter((r) => r.tokenHash === tokenHash).map((r) => r.userId);
  }

  async findUsersByTokenPrefixHash(tokenPrefixHash: string): Promise<string[]> {
    await this.beforeRequest();
    return [...this.table.written.values()].filter((r) => r.tokenPrefixHash === tokenPrefixHash).map((r) => r.userId);
  }

  /**
   * Keys-only scan of the active users: seeded users by index, then users that exist only
   * because they were written (sign-ins during the run). A segment holds the users whose
   * id hashes to it, as DynamoDB's hash partitioning does.
   */
  async scanActiveUsers(input: {
    segment: number;
    totalSegments: number;
    cursor?: ScanCursor;
    limit?: number;
  }): Promise<ActiveUsersPage> {
    await this.beforeRequest();
    const limit = input.limit ?? 1000;
    const seeded = this.seed?.count ?? 0;
    // Users that exist only because they were written: listed once the seeded ones are done.
    let extra: string[] | undefined;
    const extraUsers = () =>
      (extra ??= [...this.table.written.keys()].filter((id) => this.seed?.indexOf(id) === undefined));
    let position = Number((input.cursor as { position?: number } | undefined)?.position ?? 0);
    const userIds: string[] = [];
    let bytes = 0;
    // An index entry holds the table key and the index key (about twice the user ID).
    while (userIds.length < limit && (position < seeded || position < seeded + extraUsers().length)) {
      const userId = position < seeded ? this.seed!.userId(position) : extraUsers()[position - seeded]!;
      position += 1;
      if (segmentOf(userId, input.totalSegments) !== input.segment) continue;
      const written = this.table.written.get(userId);
      if (written && !(written.status === 'active' && written.refreshToken)) continue;
      userIds.push(userId);
      bytes += 2 * (userId.length + 5) + 16;
    }
    this.meter?.dynamoRequest('Scan', { read: readUnits(bytes, false) });
    return position < seeded + extraUsers().length ? { userIds, nextCursor: { position } } : { userIds };
  }

  /** Every record written so far (tests inspect them). */
  writtenRecords(): UserRecord[] {
    return [...this.table.written.values()].map(copy);
  }

  private async endGrant(userId: string, expectedVersion: number | undefined, changes: Partial<UserRecord>) {
    const written = await this.write(userId, (before) => {
      if (!before || (expectedVersion !== undefined && before.tokenVersion !== expectedVersion)) return undefined;
      const after = { ...before, ...changes, tokenVersion: before.tokenVersion + 1 };
      delete after.refreshToken;
      delete after.tokenHash;
      delete after.tokenPrefixHash;
      return after;
    });
    return written !== undefined;
  }

  private async load(userId: string): Promise<UserRecord | undefined> {
    const written = this.table.written.get(userId);
    if (written) return written;
    const index = this.seedIndexOf(userId);
    return index === undefined ? undefined : this.seed!.record(index);
  }

  private seedIndexOf(userId: string): number | undefined {
    if (!this.seed) return undefined;
    const index = this.seed.indexOf(userId);
    return index !== undefined && index < this.seed.count ? index : undefined;
  }

  /**
   * One conditional UpdateItem: `change` answers the new record, or undefined when the
   * condition fails (charged all the same, as DynamoDB does).
   */
  private async write(
    userId: string,
    change: (before: UserRecord | undefined) => UserRecord | undefined,
  ): Promise<UserRecord | undefined> {
    await this.beforeRequest();
    const before = await this.load(userId);
    const after = change(before && copy(before));
    const units = writeUnits(Math.max(before ? sizeOf(before) : 0, after ? sizeOf(after) : 0));
    this.meter?.dynamoRequest('UpdateItem', { write: units });
    if (this.meter) this.meter.userItemWriteUnits += units;
    if (!after) return undefined;
    this.table.written.set(userId, after);
    return copy(after);
  }
}

/** The refresh outcome as the DynamoDB adapter writes it. */
function withOutcome(before: UserRecord, outcome: RefreshOutcome): UserRecord {
  const at = outcome.at.toISOString();
  const after: UserRecord = { ...before, updatedAt: at };
  if (Object.keys(outcome.jobs).length) after.jobs = copyJobs(outcome.jobs);
  if (outcome.succeeded) {
    after.lastRefreshAt = at;
    after.refreshFailures = 0;
    delete after.lastRefreshError;
  } else {
    after.refreshFailures = before.refreshFailures + 1;
    after.lastRefreshError = outcome.error ?? 'unknown';
  }
  return after;
}

/** The item as DynamoDB stores it: the record plus the table key and the active-users index key. */
function sizeOf(record: UserRecord): number {
  const active = record.status === 'active' && record.refreshToken !== undefined;
  return itemSize({ pk: `USER#${record.userId}`, ...(active ? { activeUserId: record.userId } : {}), ...record });
}

/** The scan segment of a user: a hash of its ID, as DynamoDB partitions by hashed key (FNV-1a). */
export function segmentOf(userId: string, totalSegments: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % totalSegments;
}
