/** Settings of the offline jobs' Drive sync and push, read once per cold start (a bad value names its variable). */
import { intEnv, optionalEnv } from '../config';
import { ConfigError } from '../errors';

type Env = Record<string, string | undefined>;

/**
 * DRIVE_PUSH_ADDRESS (optional): the public URL of `POST /drive/notifications`. Google only
 * delivers to HTTPS; plain HTTP is accepted for loopback addresses (the local stack).
 */
export function drivePushAddress(env: Env = process.env): string | undefined {
  const raw = optionalEnv('DRIVE_PUSH_ADDRESS', env);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`DRIVE_PUSH_ADDRESS must be a URL, got "${raw}"`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError('DRIVE_PUSH_ADDRESS must be an https:// URL (http:// only on loopback)');
  }
  return url.toString();
}

/**
 * DRIVE_PUSH_COALESCE_SECONDS (default 10): notifications for one user within this window
 * make one early run, started this long after the first of them.
 */
export function drivePushCoalesceSeconds(env: Env = process.env): number {
  return intEnv('DRIVE_PUSH_COALESCE_SECONDS', 10, { min: 0, max: 900 }, env);
}

/** EVENT_BUS_NAME (optional): the EventBridge bus events go to; the default bus when unset. */
export function eventBusName(env: Env = process.env): string | undefined {
  return optionalEnv('EVENT_BUS_NAME', env);
}
