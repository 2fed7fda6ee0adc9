/**
 * Google Cross-Account Protection (RISC) event types and the subjects they name.
 * Google sends `token-revoked`/`tokens-revoked` under the OAuth event namespace and the
 * account events under the RISC one; both spellings are accepted for every type.
 */
const RISC_NS = 'https://schemas.openid.net/secevent/risc/event-type/';
const OAUTH_NS = 'https://schemas.openid.net/secevent/oauth/event-type/';

export const RISC_EVENT_TYPES = {
  sessionsRevoked: `${RISC_NS}sessions-revoked`,
  tokensRevoked: `${OAUTH_NS}tokens-revoked`,
  tokenRevoked: `${OAUTH_NS}token-revoked`,
  accountDisabled: `${RISC_NS}account-disabled`,
  accountEnabled: `${RISC_NS}account-enabled`,
  accountCredentialChangeRequired: `${RISC_NS}account-credential-change-required`,
  verification: `${RISC_NS}verification`,
} as const;

export type RiscEventName =
  | 'sessions-revoked'
  | 'tokens-revoked'
  | 'token-revoked'
  | 'account-disabled'
  | 'account-enabled'
  | 'account-credential-change-required'
  | 'verification';

const NAMES = new Set<string>(Object.values(RISC_EVENT_TYPES).map((uri) => uri.slice(uri.lastIndexOf('/') + 1)));

/** The short name of a RISC/OAuth event type URI; `undefined` for anything else. */
export function eventName(uri: string): RiscEventName | undefined {
  for (const ns of [RISC_NS, OAUTH_NS]) {
    if (uri.startsWith(ns) && NAMES.has(uri.slice(ns.length))) return uri.slice(ns.length) as RiscEventName;
  }
  return undefined;
}

/** A Google account, as `iss-sub` subjects name it. */
export interface AccountSubject {
  kind: 'account';
  sub: string;
  iss?: string;
}

/** One refresh token, identified by its first 16 characters or its double SHA-512. */
export interface TokenSubject {
  kind: 'token';
  alg: 'prefix' | 'hash_base64_sha512_sha512';
  /** The prefix or the hash: as sensitive as a credential fragment, never logged. */
  value: string;
  tokenType?: string;
}

export type EventSubject = AccountSubject | TokenSubject;

/** Parses an event's `subject`; `undefined` when it is missing or of a kind we do not act on. */
export function parseSubject(event: unknown): EventSubject | undefined {
  const subject = (event as { subject?: unknown } | undefined)?.subject;
  if (typeof subject !== 'object' || subject === null) return undefined;
  const s = subject as Record<string, unknown>;
  if (s.subject_type === 'iss-sub' || s.subject_type === 'id_token_claims') {
    if (typeof s.sub !== 'string' || !s.sub) return undefined;
    return { kind: 'account', sub: s.sub, ...(typeof s.iss === 'string' ? { iss: s.iss } : {}) };
  }
  if (s.subject_type === 'oauth_token') {
    const alg = s.token_identifier_alg;
    if ((alg !== 'prefix' && alg !== 'hash_base64_sha512_sha512') || typeof s.token !== 'string' || !s.token)
      return undefined;
    return {
      kind: 'token',
      alg,
      value: s.token,
      ...(typeof s.token_type === 'string' ? { tokenType: s.token_type } : {}),
    };
  }
  return undefined;
}

/** Standard base64 with padding, whichever base64 alphabet the hash arrived in. */
export function normalizeBase64(value: string): string {
  const standard = value.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return standard + '='.repeat((4 - (standard.length % 4)) % 4);
}

/** A short, log- and storage-safe version of a free-form `reason` (e.g. `hijacking`). */
export function safeReason(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cleaned = value.replace(/[^\w.-]/g, '_').slice(0, 64);
  return cleaned || undefined;
}
