/**
 * Registers this deployment's POST /risc receiver with Google's RISC stream API:
 *
 *   npm run risc:register -- --url https://api.example.com/risc \
 *     [--key service-account.json] [--events all|token-revoked,account-disabled,...] [--verify [state]]
 *
 * Authenticates as a service account of the project that owns the OAuth client (key file
 * from the Cloud console; the account needs the "RISC Configuration Admin" role) with the
 * `risc.configuration.readwrite` scope, then `POST /v1beta/stream:update` with push delivery
 * to `--url`. `--verify` asks Google to push a verification event. With GOOGLE_EMULATOR_HOST
 * set everything goes to the Google emulator instead.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { JWT } from 'google-auth-library';
import { googleEndpoints, type GoogleEndpoints } from '../lib/google/endpoints';
import { RISC_EVENT_TYPES } from '../lib/risc/events';

export const RISC_SCOPE = 'https://www.googleapis.com/auth/risc.configuration.readwrite';
export const PUSH_DELIVERY = 'https://schemas.openid.net/secevent/risc/delivery-method/push';
/** google-auth-library signs and posts its JWT-bearer grant here whatever the key file says. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

const EVENTS_BY_NAME: Record<string, string> = Object.fromEntries(
  Object.values(RISC_EVENT_TYPES).map((uri) => [uri.slice(uri.lastIndexOf('/') + 1), uri]),
);

export interface RiscRegistration {
  /** The public HTTPS URL of POST /risc. */
  receiverUrl: string;
  /** Path of the service-account key JSON. */
  keyFile: string;
  /** Event type URIs to request (default: every type the receiver handles). */
  events?: readonly string[];
  /** When set, Google is asked to push a verification event carrying this state. */
  verifyState?: string;
  /** Defaults to Google's, or the emulator's when GOOGLE_EMULATOR_HOST is set. */
  endpoints?: GoogleEndpoints;
}

export interface RiscRegistrationResult {
  serviceAccount: string;
  receiverUrl: string;
  eventsRequested: string[];
  verificationRequested: boolean;
}

/** Event names (`token-revoked`, …) or `all` to the URIs the stream API takes. */
export function parseEvents(spec: string | undefined): string[] {
  if (!spec || spec === 'all') return Object.values(RISC_EVENT_TYPES);
  return spec.split(',').map((raw) => {
    const name = raw.trim();
    const uri = EVENTS_BY_NAME[name] ?? (Object.values(RISC_EVENT_TYPES).includes(name as never) ? name : undefined);
    if (!uri)
      throw new Error(`Unknown RISC event "${name}"; use all or some of: ${Object.keys(EVENTS_BY_NAME).join(', ')}`);
    return uri;
  });
}

/**
 * Registers (or updates) the project's RISC stream to push to `receiverUrl`.
 * @throws Error with Google's status and message (never a token) when a call fails.
 */
export async function registerRiscReceiver(registration: RiscRegistration): Promise<RiscRegistrationResult> {
  const emulatorHost = process.env.GOOGLE_EMULATOR_HOST?.trim() || undefined;
  const endpoints = registration.endpoints ?? googleEndpoints(emulatorHost);
  const receiver = new URL(registration.receiverUrl);
  const local = emulatorHost !== undefined || ['127.0.0.1', 'localhost', '[::1]'].includes(receiver.hostname);
  if (receiver.protocol !== 'https:' && !local)
    throw new Error('--url must be an https:// URL (Google pushes only over TLS)');

  const key = await readServiceAccountKey(registration.keyFile);
  const client = new JWT({
    email: key.client_email,
    key: key.private_key,
    keyId: key.private_key_id,
    scopes: [RISC_SCOPE],
    // Node's own fetch: gaxios would otherwise dynamic-import node-fetch.
    transporterOptions: { fetchImplementation: fetch },
  });
  const tokenUrl = endpoints.tokenUrl;
  if (tokenUrl !== GOOGLE_TOKEN_URL) {
    // The JWT client's token URL is fixed; send its grant to the configured endpoint instead.
    client.transporter.interceptors.request.add({
      resolved: (config) =>
        Promise.resolve(String(config.url) === GOOGLE_TOKEN_URL ? Object.assign(config, { url: tokenUrl }) : config),
    });
  }

  const eventsRequested = [...(registration.events ?? Object.values(RISC_EVENT_TYPES))];
  await call(client, `${endpoints.riscApiUrl}/stream:update`, {
    delivery: { delivery_method: PUSH_DELIVERY, url: receiver.toString() },
    events_requested: eventsRequested,
  });
  if (registration.verifyState !== undefined) {
    await call(client, `${endpoints.riscApiUrl}/stream:verify`, { state: registration.verifyState });
  }
  return {
    serviceAccount: key.client_email,
    receiverUrl: receiver.toString(),
    eventsRequested,
    verificationRequested: registration.verifyState !== undefined,
  };
}

interface ServiceAccountKeyFile {
  client_email: string;
  private_key: string;
  private_key_id?: string;
}

async function readServiceAccountKey(path: string): Promise<ServiceAccountKeyFile> {
  let parsed: Partial<ServiceAccountKeyFile> & { type?: string };
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as typeof parsed;
  } catch {
    throw new Error(`Cannot read the service-account key JSON at ${path}`);
  }
  if (parsed.type !== 'service_account' || !parsed.client_email || !parsed.private_key) {
    throw new Error(`${path} is not a service-account key (type, client_email and private_key are required)`);
  }
  return { client_email: parsed.client_email, private_key: parsed.private_key, private_key_id: parsed.private_key_id };
}

async function call(client: JWT, url: string, data: unknown): Promise<void> {
  try {
    await client.request({ url, method: 'POST', data, retry: false });
  } catch (error) {
    // gaxios errors carry the request config, Authorization header included: keep status and Google's message only.
    const response = (error as { response?: { status?: number; data?: unknown } }).response;
    const body = response?.data as { error?: { message?: unknown } | string; error_description?: unknown } | undefined;
    const detail =
      typeof body?.error === 'object' && typeof body.error.message === 'string'
        ? body.error.message
        : typeof body?.error_description === 'string'
          ? body.error_description
          : typeof body?.error === 'string'
            ? body.error
            : error instanceof Error
              ? error.message.split('\n')[0]
              : 'request failed';
    throw new Error(`${new URL(url).pathname}: ${response?.status ? `HTTP ${response.status}: ` : ''}${detail}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      events: { type: 'string' },
      verify: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.url) {
    console.log(
      'usage: npm run risc:register -- --url https://<api>/risc [--key service-account.json] [--events all|name,...] [--verify <state>]',
    );
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const result = await registerRiscReceiver({
    receiverUrl: values.url,
    keyFile: values.key ?? process.env.GOOGLE_APPLICATION_CREDENTIALS ?? 'service-account.json',
    events: parseEvents(values.events),
    ...(values.verify !== undefined ? { verifyState: values.verify } : {}),
  });
  console.log(`RISC stream now pushes to ${result.receiverUrl} (as ${result.serviceAccount})`);
  for (const event of result.eventsRequested) console.log(`  ${event}`);
  if (result.verificationRequested) console.log('A verification event was requested: watch the receiver logs.');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`risc:register failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
