/**
 * Environment configuration, read and validated once per cold start. Each reader throws a
 * `ConfigError` naming the variable, so a misconfigured function fails at init, loudly.
 */
import { ConfigError } from './errors';

export const DEFAULT_REQUIRED_SCOPES = ['https://www.googleapis.com/auth/drive.appdata'];
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
export const RISC_ISSUER = 'https://accounts.google.com/';

type Env = Record<string, string | undefined>;

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required but not set`);
  return value;
}

export function optionalEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

interface Bounds {
  min: number;
  max: number;
}

/** A number within bounds, or `fallback` when unset. @throws ConfigError naming the variable. */
export function numberEnv(name: string, fallback: number, bounds: Bounds, env: Env = process.env): number {
  return boundedNumber(name, fallback, bounds, env, 'a number', Number.isFinite);
}

/** An integer within bounds, or `fallback` when unset. @throws ConfigError naming the variable. */
export function intEnv(name: string, fallback: number, bounds: Bounds, env: Env = process.env): number {
  return boundedNumber(name, fallback, bounds, env, 'an integer', Number.isInteger);
}

function boundedNumber(
  name: string,
  fallback: number,
  bounds: Bounds,
  env: Env,
  kind: string,
  isValid: (value: number) => boolean,
): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!isValid(value) || value < bounds.min || value > bounds.max) {
    throw new ConfigError(`${name} must be ${kind} from ${bounds.min} to ${bounds.max}, got "${raw}"`);
  }
  return value;
}

export function listEnv(name: string, separator: RegExp, env: Env = process.env): string[] {
  return (optionalEnv(name, env) ?? '').split(separator).filter(Boolean);
}

/** Where the `client_secret_*.json` comes from: exactly one of the two variables. */
export type ClientSecretSource = { kind: 'secretsManager'; arn: string } | { kind: 'file'; path: string };

export function clientSecretSource(env: Env = process.env): ClientSecretSource {
  const arn = optionalEnv('GOOGLE_CLIENT_SECRET_ARN', env);
  const path = optionalEnv('GOOGLE_CLIENT_SECRET_FILE', env);
  if (arn && path)
    throw new ConfigError('Set exactly one of GOOGLE_CLIENT_SECRET_ARN and GOOGLE_CLIENT_SECRET_FILE, not both');
  if (arn) return { kind: 'secretsManager', arn };
  if (path) return { kind: 'file', path };
  throw new ConfigError('GOOGLE_CLIENT_SECRET_ARN or GOOGLE_CLIENT_SECRET_FILE is required but neither is set');
}

/** Settings every Google-facing function shares. */
export interface GoogleConfig {
  clientSecret: ClientSecretSource;
  allowedAzp: string[];
  requiredScopes: string[];
  redirectUri: string;
  /** `host:port` of the Google emulator, when set. */
  emulatorHost?: string;
}

export function googleConfig(env: Env = process.env): GoogleConfig {
  const emulatorHost = optionalEnv('GOOGLE_EMULATOR_HOST', env);
  if (emulatorHost && !/^[\w.-]+:\d{1,5}$|^\[[\da-fA-F:]+\]:\d{1,5}$/.test(emulatorHost)) {
    throw new ConfigError(`GOOGLE_EMULATOR_HOST must be host:port, got "${emulatorHost}"`);
  }
  return {
    clientSecret: clientSecretSource(env),
    allowedAzp: listEnv('GOOGLE_ALLOWED_AZP', /\s*,\s*/, env),
    requiredScopes: requiredScopesEnv(env),
    redirectUri: env.GOOGLE_REDIRECT_URI ?? '',
    ...(emulatorHost ? { emulatorHost } : {}),
  };
}

/** `GOOGLE_REQUIRED_SCOPES` (space-separated), default drive.appdata. */
export function requiredScopesEnv(env: Env = process.env): string[] {
  const scopes = listEnv('GOOGLE_REQUIRED_SCOPES', /\s+/, env);
  return scopes.length ? scopes : DEFAULT_REQUIRED_SCOPES;
}

/** `EVENT_BUS_NAME`: the EventBridge bus connection events go to; `undefined` is the default bus. */
export function eventBusNameEnv(env: Env = process.env): string | undefined {
  const name = optionalEnv('EVENT_BUS_NAME', env);
  if (name !== undefined && !/^(arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus\/)?[\w.\-/]{1,256}$/.test(name)) {
    throw new ConfigError(`EVENT_BUS_NAME must be an EventBridge bus name or ARN, got "${name}"`);
  }
  return name;
}
