/**
 * The job state port: what an offline job remembers about one user between runs (a Drive
 * page token, a push channel), kept apart from the user record so that the hot record does
 * not grow and a job's write never rewrites it. Small JSON-safe values only; no tokens of
 * the user's (a push channel's secret is stored hashed).
 */

/** One job's state for one user. */
export type JobState = Record<string, unknown>;

export interface JobStateStore {
  /** The job's state for the user; `undefined` before its first save (or after `forget`). */
  load(userId: string, job: string): Promise<JobState | undefined>;

  /** Replaces the job's state for the user (callers write only when it changed). */
  save(userId: string, job: string, state: JobState): Promise<void>;

  /**
   * Deletes every job's state of the user (disconnect, revocation) and returns what it held,
   * so the caller can close what the state kept open at Google. Idempotent.
   */
  forget(userId: string): Promise<Record<string, JobState>>;

  /**
   * Opens a window of `windowMs` for `(userId, key)` unless one is still open: true exactly
   * once per window, however many callers race. Only for users that have job state.
   */
  openWindow(userId: string, key: string, nowMs: number, windowMs: number): Promise<boolean>;

  /** Closes the window this caller opened at `nowMs` (its follow-up failed), so the next caller may try. */
  closeWindow(userId: string, key: string, openedAtMs: number): Promise<void>;
}
