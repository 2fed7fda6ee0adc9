/**
 * Redaction of credentials from anything that may reach a log line or an error message.
 *
 * Three layers, none of which a caller can steer:
 * - shapes: JWTs, Google's token and code shapes (`ya29.`, `1//`, `4/`) and client secrets
 *   (`GOCSPX-`), and credentials under a known field name (`code=`, `"refresh_token":`);
 * - configuration secrets (the OAuth client secret), pinned by `protectConfiguredSecret` for
 *   the life of the execution environment: nothing can evict them;
 * - values Google issued (`rememberIssuedSecret`), for token formats no shape knows, in a
 *   bounded list of their own that cannot push a configuration secret out.
 * A value a caller sent (an auth code, a bearer token) is never remembered: anyone could
 * otherwise post a victim's user ID as a "code" and blank it out of every later log line.
 */
const SENSITIVE_KEYS = new Set(
  [
    'authcode',
    'code',
    'refresh_token',
    'refreshtoken',
    'access_token',
    'accesstoken',
    'id_token',
    'idtoken',
    'client_secret',
    'clientsecret',
    'authorization',
    'token',
    'assertion',
    'password',
    'plaintext',
  ].map((k) => k.toLowerCase()),
);

const PATTERNS: [RegExp, string][] = [
  [/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[redacted-jwt]'],
  [/\bya29\.[\w.-]+/g, '[redacted-token]'],
  [/\b1\/\/[\w.-]+/g, '[redacted-token]'],
  [/\b4\/[\w.-]+/g, '[redacted-code]'],
  [/\bGOCSPX-[\w-]+/g, '[redacted-secret]'],
  [/\b(Bearer|Basic)\s+[\w.~+/=-]+/gi, '$1 [redacted]'],
  [
    /\b(code|refresh_token|access_token|id_token|client_secret|token|assertion|authCode|subject_token)=[^&\s"']*/g,
    '$1=[redacted]',
  ],
  [
    /"(code|refresh_token|access_token|id_token|client_secret|token|assertion|authCode|refreshToken|accessToken|idToken)"\s*:\s*"[^"]*"/g,
    '"$1":"[redacted]"',
  ],
];

/** Google-issued values kept at once; the oldest goes first (they also match a shape). */
const MAX_ISSUED = 1_000;
/** Values shorter than this would blank ordinary words. */
const MIN_SECRET_LENGTH = 8;
const configured = new Set<string>();
const issued = new Set<string>();

/**
 * Pins a secret from configuration (the OAuth client secret) for the life of the execution
 * environment: every later redaction removes it, and no amount of other values evicts it.
 */
export function protectConfiguredSecret(value: string | null | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) configured.add(value);
}

/**
 * Remembers a value Google issued (a token from the token endpoint, or one decrypted from
 * storage) or that we generated (a push channel token), whose format a shape may not catch.
 * Never for caller input.
 */
export function rememberIssuedSecret(value: string | null | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH || configured.has(value)) return;
  // Re-inserting moves a value to the young end, so a token in use is not the next evicted.
  issued.delete(value);
  if (issued.size >= MAX_ISSUED) {
    const oldest = issued.values().next().value;
    if (oldest !== undefined) issued.delete(oldest);
  }
  issued.add(value);
}

export function redactText(text: string): string {
  let out = text;
  for (const secrets of [configured, issued]) {
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

export const isSensitiveKey = (key: string): boolean => SENSITIVE_KEYS.has(key.toLowerCase());

/** Deep copy with sensitive keys blanked and every string redacted. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return '[binary]';
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSensitiveKey(key) && item != null ? '[redacted]' : redactValue(item, depth + 1);
  }
  return out;
}
