/**
 * The exchange ledger port: one short-lived entry per auth code (by hash, never the code),
 * so a client's retry of the same code replays the first answer and Google sees it once.
 */

export interface ExchangeRecord {
  status: 'pending' | 'done';
  /** The 200 body already returned for this code: profile and scopes, never a token. */
  response?: Record<string, unknown>;
  expiresAt: number;
}

export type ExchangeClaim = { claimed: true } | { claimed: false; existing: ExchangeRecord | undefined };

export interface ExchangeLedger {
  /**
   * Starts an exchange for a code hash. Returns `claimed` when this caller must redeem the
   * code, or the existing record (pending: another request is redeeming it; done: replay).
   */
  begin(codeHash: string, nowMs: number, ttlMs: number): Promise<ExchangeClaim>;
  get(codeHash: string): Promise<ExchangeRecord | undefined>;
  complete(codeHash: string, response: Record<string, unknown>, expiresAtMs: number): Promise<void>;
  /** Forgets a failed exchange so that a client retry can try the code again (it is not redeemed). */
  abandon(codeHash: string): Promise<void>;
}
