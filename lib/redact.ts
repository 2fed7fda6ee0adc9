/**
 * Redaction of credentials from anything that may reach a log line or an error message.
 * Pattern rules catch Google's token shapes and JWTs; `rememberSecret` adds exact values
 * (the auth code, tokens and client secret a function handled) for formats no pattern knows.
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

const MAX_REMEMBERED = 2_000;
const remembered = new Set<string>();

/** Remember an exact secret value so that every later redaction removes it. */
export function rememberSecret(value: string | null | undefined): void {
  if (!value || value.length < 6) return;
  if (remembered.has(value)) return;
  if (remembered.size >= MAX_REMEMBERED) {
    const oldest = remembered.values().next().value;
    if (oldest !== undefined) remembered.delete(oldest);
  }
  remembered.add(value);
}

export function redactText(text: string): string {
  let out = text;
  for (const secret of remembered) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
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
