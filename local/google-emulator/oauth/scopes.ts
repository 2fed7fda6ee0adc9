/** Scope strings, and the long names Google reports for the short sign-in scopes. */
export const SCOPES = {
  openid: 'openid',
  email: 'https://www.googleapis.com/auth/userinfo.email',
  profile: 'https://www.googleapis.com/auth/userinfo.profile',
  drive: 'https://www.googleapis.com/auth/drive',
  driveAppdata: 'https://www.googleapis.com/auth/drive.appdata',
  driveFile: 'https://www.googleapis.com/auth/drive.file',
  driveReadonly: 'https://www.googleapis.com/auth/drive.readonly',
  riscConfiguration: 'https://www.googleapis.com/auth/risc.configuration.readwrite',
} as const;

/** What a sign-in grants when the caller names no scopes. */
export const DEFAULT_GRANTED_SCOPES = [SCOPES.driveAppdata, SCOPES.openid, SCOPES.email, SCOPES.profile];

const LONG_NAMES: Record<string, string> = { email: SCOPES.email, profile: SCOPES.profile };

/** Google's `scope` lists `email`/`profile` by their userinfo URLs; duplicates collapse. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes.map((scope) => LONG_NAMES[scope] ?? scope))];
}

export function hasAnyScope(granted: readonly string[], accepted: readonly string[]): boolean {
  return accepted.some((scope) => granted.includes(scope));
}
