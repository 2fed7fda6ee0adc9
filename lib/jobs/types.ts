/**
 * Offline jobs: work the company's servers do in a user's Google Drive while the user is
 * offline, once per refresh cycle, with a Drive client authorized by that user's fresh
 * access token. Jobs are chosen by name in `REFRESH_JOBS` (see `registry.ts`).
 *
 * A job must be idempotent: a transient Google failure re-runs the whole job (bounded).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { drive_v3 } from '@googleapis/drive';

export interface OfflineJobContext {
  /** Drive v3, authorized as the user; it never retries by itself (the worker does). */
  drive: drive_v3.Drive;
  userId: string;
  /** Carries `userId` and `job` on every line. Never log file contents or tokens. */
  logger: Logger;
}

export interface OfflineJob {
  /** The name `REFRESH_JOBS` selects it by; also the key of its result in the user record. */
  name: string;
  /** OAuth scopes the job needs; a user who did not grant all of them is skipped and reported. */
  requiredScopes: string[];
  /** Does the work; the returned summary is stored as the job's result (keep it small). */
  run(context: OfflineJobContext): Promise<Record<string, unknown>>;
}
