/** The security-event ledger port: RISC events already acted on, by `jti`, for the replay window. */
export interface SecurityEventLedger {
  /** Records a security event's `jti`; false when it was already processed (a replay). */
  record(jti: string, nowMs: number, ttlMs: number): Promise<boolean>;
  /** Forgets a security event whose processing failed, so Google's redelivery is acted on. */
  forget(jti: string): Promise<void>;
}
