/**
 * What the emulator was asked, for tests to assert on ("Google saw this code once",
 * "the worker used a fresh token"). Never holds token, code or secret values.
 */
import type { FaultKind } from './faults';

export type GoogleEndpoint = 'token' | 'revoke' | 'certs' | 'tokeninfo' | 'drive' | 'risc';

export interface RequestLogEntry {
  /** Emulator time, RFC 3339. */
  at: string;
  method: string;
  /** Path only: query strings can carry tokens. */
  path: string;
  endpoint: GoogleEndpoint | 'unknown';
  /** 0 when a 'hang' or 'reset' fault meant no response was sent. */
  status: number;
  grantType?: string;
  /** The user the request concerned. */
  sub?: string;
  clientId?: string;
  /** Drive only: the bearer was the newest unexpired access token issued to that user. */
  freshToken?: boolean;
  /** The injected fault that answered, if any. */
  fault?: FaultKind;
}

/** Facts a route extracts from a request before handling it (for the log and fault matching). */
export type RequestFacts = Pick<RequestLogEntry, 'grantType' | 'sub' | 'clientId' | 'freshToken'>;

export class RequestLog {
  private entries: RequestLogEntry[] = [];

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
  }

  list(): RequestLogEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  clear(): void {
    this.entries = [];
  }
}
