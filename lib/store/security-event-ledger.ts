/**
 * The security-event ledger port: RISC events by `jti`, for the replay window. An event is
 * claimed (in progress, under a short lease) before it is acted on and marked done only
 * after, so a crash or timeout in between leaves a claim whose lease runs out and Google's
 * redelivery acts on the event; a redelivery of a done event is acknowledged and ignored.
 */

/** Where a `jti` stands when a delivery arrives. */
export type SecurityEventClaim =
  /** This delivery must act on the event. */
  | 'claimed'
  /** Already acted on: acknowledge, do nothing. */
  | 'done'
  /** Another delivery is acting on it right now (its lease has not run out). */
  | 'in_progress';

export interface SecurityEventLedger {
  /**
   * Claims a `jti` for `leaseMs` (new, or in progress under a lease that ran out); the entry
   * is kept `ttlMs` after `nowMs`.
   */
  begin(jti: string, nowMs: number, leaseMs: number, ttlMs: number): Promise<SecurityEventClaim>;
  /** Marks a claimed event as acted on, for `ttlMs` after `nowMs`. */
  complete(jti: string, nowMs: number, ttlMs: number): Promise<void>;
  /** Forgets an event whose processing failed, so Google's redelivery is acted on at once. */
  forget(jti: string): Promise<void>;
}
