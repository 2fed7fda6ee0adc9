/**
 * Deployment parameters: read from CDK context (`cdk.json` or `-c key=value`), validated
 * once, here. Every problem is reported at once, each naming its context key, so a
 * `cdk deploy` with a typo fails before anything reaches CloudFormation.
 *
 * Values arrive as JSON from `cdk.json` and as strings from `-c`, so every reader accepts both.
 */

import { JOB_NAMES, type JobName } from '../lib/jobs/names';

/**
 * The default of every context key. `cdk.json` carries the same values (a test keeps the
 * two equal) so that the platform team sees every knob in one file.
 * Optional keys default to `''`, meaning "not set".
 */
export const CONTEXT_DEFAULTS = {
  stackName: 'GoogleOfflineAccess',
  clientSecretArn: '',
  clientSecretKmsKeyArn: '',
  googleClientId: '',
  allowedAzp: '',
  requiredScopes: 'https://www.googleapis.com/auth/drive.appdata',
  redirectUri: '',
  refreshSchedule: 'rate(1 day)',
  refreshJobs: 'appdata-summary',
  googleRequestsPerSecond: 100,
  workerMaxConcurrency: '',
  userConcurrency: '',
  googleQps: '',
  scanSegments: 4,
  usersPerMessage: 200,
  exchangeRateLimit: 20,
  exchangeBurstLimit: 40,
  exchangeConcurrency: 20,
  disconnectRateLimit: 5,
  disconnectBurstLimit: 10,
  disconnectConcurrency: 5,
  // Apps poll it on resume and after sign-in: cheap (one GetItem), so a roomier allowance.
  connectionRateLimit: 20,
  connectionBurstLimit: 40,
  connectionConcurrency: 10,
  riscRateLimit: 10,
  riscBurstLimit: 20,
  riscConcurrency: 5,
  driveNotificationsRateLimit: 50,
  driveNotificationsBurstLimit: 100,
  driveNotificationsConcurrency: 10,
  alarmEmail: '',
  corsOrigins: '',
  metricsNamespace: '',
  revokedUsersAlarmThreshold: 100,
  eventBusName: '',
  drivePush: false,
} as const satisfies Record<string, string | number | boolean>;

export type ContextKey = keyof typeof CONTEXT_DEFAULTS;

/** Keys this app once read: naming one fails synth with what replaced it, not just "unknown". */
const RETIRED_KEYS: Readonly<Record<string, string>> = {
  apiRateLimit: 'per-route limits replaced it: exchangeRateLimit, disconnectRateLimit, riscRateLimit',
  apiBurstLimit: 'per-route limits replaced it: exchangeBurstLimit, disconnectBurstLimit, riscBurstLimit',
};

/**
 * What a context key of ours looks like. CDK's own keys (`@aws-cdk/...` feature flags,
 * `aws:cdk:...`, cached lookups such as `availability-zones:account=...`,
 * `acknowledged-issue-numbers`) never do, so they pass untouched.
 */
const OWN_KEY_SHAPE = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The functions API Gateway invokes for anyone on the internet, each bounded by its own
 * route throttle and reserved concurrency: `<name>RateLimit`, `<name>BurstLimit` and
 * `<name>Concurrency` in `CONTEXT_DEFAULTS` (tsc insists on all three).
 */
export const PUBLIC_FUNCTIONS = ['exchange', 'disconnect', 'connection', 'risc', 'driveNotifications'] as const;

export type PublicFunctionName = (typeof PUBLIC_FUNCTIONS)[number];

/** Reserved concurrency is taken from the account's pool: the bound keeps a typo from reserving all of it. */
const MAX_RESERVED_CONCURRENCY = 500;

export interface PublicFunctionLimits {
  /** Steady-state requests per second of its route (API Gateway route throttling). */
  readonly rateLimit: number;
  /** Burst capacity of its route (requests). */
  readonly burstLimit: number;
  /** Reserved concurrency of the function; `undefined` (context value 0): none reserved. */
  readonly reservedConcurrency?: number;
}

export interface InfraConfig {
  /** CloudFormation stack name; one per environment (`-c stackName=GoogleOfflineAccess-dev`). */
  readonly stackName: string;
  /** An existing `client_secret_*.json` secret (complete ARN); absent: the stack creates an empty one. */
  readonly clientSecretArn?: string;
  /** The customer-managed KMS key encrypting the imported secret; absent: the AWS-managed `aws/secretsmanager`. */
  readonly clientSecretKmsKeyArn?: string;
  /**
   * The server (web) OAuth client ID. When set, `risc` gets it as `GOOGLE_CLIENT_ID` and no
   * access to the client secret; absent, `risc` reads it from the secret (synth warns).
   */
  readonly googleClientId?: string;
  /** Android/iOS client IDs accepted as the ID token's `azp`. */
  readonly allowedAzp: readonly string[];
  /** Scopes a user must grant for offline access to count. */
  readonly requiredScopes: readonly string[];
  /** `redirect_uri` at code exchange: `''` for Android, `postmessage` for the web popup flow. */
  readonly redirectUri: string;
  /** EventBridge schedule expression of the refresh cycle. */
  readonly refreshSchedule: string;
  /** Offline jobs the worker runs for each user, by name (each one the worker knows). */
  readonly refreshJobs: readonly JobName[];
  /**
   * Google requests per second the whole refresh fleet may send (the project's allowance for
   * it): the worker's concurrency, per-environment rate and users in flight derive from it
   * (lib/refresh/sizing.ts). The three settings below override a derived value when set.
   */
  readonly googleRequestsPerSecond: number;
  /** Override: concurrent worker invocations (SQS event source `maxConcurrency`). */
  readonly workerMaxConcurrency?: number;
  /** Override: users one worker invocation processes at the same time. */
  readonly userConcurrency?: number;
  /** Override: Google requests per second, per worker instance. */
  readonly googleQps?: number;
  /** Parallel DynamoDB scan segments of the dispatcher. */
  readonly scanSegments: number;
  /** The most users per SQS message the dispatcher sends (fewer when the Google allowance is small). */
  readonly usersPerMessage: number;
  /** Route throttle and reserved concurrency of each public function. */
  readonly publicFunctions: Readonly<Record<PublicFunctionName, PublicFunctionLimits>>;
  /** E-mail subscribed to the alarm topic, if any. */
  readonly alarmEmail?: string;
  /** Browser origins allowed by CORS; empty: CORS off (native apps need none). */
  readonly corsOrigins: readonly string[];
  /** CloudWatch namespace of the Powertools metrics and the API's metric filters; default: the stack name. */
  readonly metricsNamespace: string;
  /** Users losing their grant per hour (refresh `invalid_grant` plus RISC revocations) above which the surge alarm fires. */
  readonly revokedUsersAlarmThreshold: number;
  /** EventBridge bus (name) for connection events; absent: the account's default bus. */
  readonly eventBusName?: string;
  /**
   * Drive push: `POST /drive/notifications` and its function, and `DRIVE_PUSH_ADDRESS` for
   * the worker, so `drive-changes` keeps a watch channel per user (needs it in `refreshJobs`).
   */
  readonly drivePush: boolean;
}

export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid CDK context (set it in cdk.json or with -c key=value):\n  - ${problems.join('\n  - ')}`);
  }
}

/** Where context values come from: `app.node.tryGetContext` in practice. */
export type ContextSource = (key: string) => unknown;

const GOOGLE_CLIENT_ID = /^[\w-]+\.apps\.googleusercontent\.com$/;
const KMS_KEY_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;
const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\S+( \S+){5}\)$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const NAMESPACE = /^[\w./#:-]{1,255}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const EVENT_BUS_NAME = /^[\w.-]{1,256}$/;
const SHORT_SCOPES = new Set(['openid', 'email', 'profile']);

/**
 * Reads and validates every deployment parameter.
 * @throws InfraConfigError listing each bad value by its context key.
 */
export function readInfraConfig(context: ContextSource, presentKeys: readonly string[] = []): InfraConfig {
  const problems: string[] = [...unknownKeyProblems(presentKeys)];
  const reader = new ContextReader(context, problems);
  const limits = (name: PublicFunctionName): PublicFunctionLimits => {
    const reservedConcurrency = reader.integer(`${name}Concurrency`, 0, MAX_RESERVED_CONCURRENCY);
    return {
      rateLimit: reader.number(`${name}RateLimit`, 1, 10_000),
      burstLimit: reader.integer(`${name}BurstLimit`, 1, 5_000),
      ...(reservedConcurrency > 0 ? { reservedConcurrency } : {}),
    };
  };

  const stackName = reader.string(
    'stackName',
    (v) => STACK_NAME.test(v),
    'a CloudFormation stack name (letters, digits, -)',
  );
  // Per stack unless set: two environments in one account must not share metrics and alarms.
  const metricsNamespace =
    reader.optionalString(
      'metricsNamespace',
      (v) => NAMESPACE.test(v) && !v.startsWith('AWS/'),
      'a CloudWatch namespace not starting with AWS/ (leave it empty for the stack name)',
    ) ?? stackName;

  const config: InfraConfig = {
    stackName,
    ...optional(
      'clientSecretKmsKeyArn',
      reader.optionalString(
        'clientSecretKmsKeyArn',
        (v) => KMS_KEY_ARN.test(v),
        'the ARN of the KMS key (arn:aws:kms:<region>:<account>:key/<id>) encrypting clientSecretArn',
      ),
    ),
    ...optional(
      'googleClientId',
      reader.optionalString(
        'googleClientId',
        (v) => GOOGLE_CLIENT_ID.test(v),
        'the web OAuth client ID, ending in .apps.googleusercontent.com',
      ),
    ),
    ...optional(
      'clientSecretArn',
      reader.optionalString(
        'clientSecretArn',
        (v) => SECRET_ARN.test(v),
        'the complete ARN of a Secrets Manager secret (ending in -XXXXXX)',
      ),
    ),
    allowedAzp: reader.list(
      'allowedAzp',
      /\s*,\s*/,
      (v) => GOOGLE_CLIENT_ID.test(v),
      'comma-separated OAuth client IDs ending in .apps.googleusercontent.com',
    ),
    requiredScopes: reader.list(
      'requiredScopes',
      /[\s,]+/,
      (v) => SHORT_SCOPES.has(v) || /^https:\/\/\S+$/.test(v),
      'space-separated scope URLs (https://...) or openid/email/profile',
    ),
    redirectUri: reader.string(
      'redirectUri',
      (v) => v === '' || v === 'postmessage' || isHttpsUrl(v),
      "'' (Android), 'postmessage' (web popup) or an https URL",
      true,
    ),
    refreshSchedule: reader.string(
      'refreshSchedule',
      isScheduleExpression,
      "an EventBridge expression such as 'rate(1 hour)', 'rate(30 minutes)' or 'cron(0 3 * * ? *)'",
    ),
    refreshJobs: reader.list(
      'refreshJobs',
      /\s*,\s*/,
      (v) => (JOB_NAMES as readonly string[]).includes(v),
      `comma-separated names of jobs the worker knows (${JOB_NAMES.join(', ')})`,
    ) as JobName[],
    googleRequestsPerSecond: reader.number('googleRequestsPerSecond', 0.1, 100_000),
    ...optionalNumber('workerMaxConcurrency', reader.optionalInteger('workerMaxConcurrency', 2, 1000)),
    ...optionalNumber('userConcurrency', reader.optionalInteger('userConcurrency', 1, 256)),
    ...optionalNumber('googleQps', reader.optionalNumber('googleQps', 0.1, 1000)),
    scanSegments: reader.integer('scanSegments', 1, 1000),
    usersPerMessage: reader.integer('usersPerMessage', 1, 500),
    publicFunctions: Object.fromEntries(PUBLIC_FUNCTIONS.map((name) => [name, limits(name)])) as Record<
      PublicFunctionName,
      PublicFunctionLimits
    >,
    ...optional(
      'alarmEmail',
      reader.optionalString('alarmEmail', (v) => EMAIL.test(v), 'an e-mail address'),
    ),
    corsOrigins: reader.list(
      'corsOrigins',
      /\s*,\s*/,
      isOrigin,
      "comma-separated origins such as https://app.example.com ('*' is not accepted)",
    ),
    metricsNamespace,
    revokedUsersAlarmThreshold: reader.integer('revokedUsersAlarmThreshold', 1, 10_000_000),
    ...optional(
      'eventBusName',
      reader.optionalString('eventBusName', (v) => EVENT_BUS_NAME.test(v), 'an EventBridge bus name'),
    ),
    drivePush: reader.boolean('drivePush'),
  };
  if (config.clientSecretKmsKeyArn && !config.clientSecretArn)
    problems.push(
      'clientSecretKmsKeyArn: only meaningful with clientSecretArn (a secret the stack creates uses aws/secretsmanager)',
    );
  if (new Set(config.refreshJobs).size !== config.refreshJobs.length)
    problems.push(`refreshJobs: a job is named twice in "${config.refreshJobs.join(',')}"`);
  if (config.drivePush && !config.refreshJobs.includes('drive-changes')) {
    problems.push('drivePush: needs the drive-changes job in refreshJobs');
  }
  if (config.requiredScopes.length === 0) problems.push('requiredScopes: at least one scope is required');
  if (config.refreshJobs.length === 0) problems.push('refreshJobs: at least one job is required');
  if (problems.length) throw new InfraConfigError(problems);
  return config;
}

function optionalNumber<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

/**
 * Context keys that look like ours but are not: a typo (`alarmEmial`) would otherwise be
 * ignored silently and the default deployed.
 */
function unknownKeyProblems(presentKeys: readonly string[]): string[] {
  const known = Object.keys(CONTEXT_DEFAULTS);
  return presentKeys
    .filter((key) => OWN_KEY_SHAPE.test(key) && !known.includes(key))
    .map((key) => {
      const retired = RETIRED_KEYS[key];
      if (retired) return `${key}: no longer read; ${retired}`;
      const near = known.filter((candidate) => editDistance(key.toLowerCase(), candidate.toLowerCase()) <= 2);
      return `${key}: unknown context key${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}; known keys are listed in cdk.json`;
    });
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
    return (url.protocol === 'https:' || (local && url.protocol === 'http:')) && url.origin === value;
  } catch {
    return false;
  }
}

function isScheduleExpression(value: string): boolean {
  const rate = RATE.exec(value);
  if (rate) {
    // EventBridge insists on the singular unit for 1 and the plural otherwise.
    const amount = Number(rate[1]);
    const unit = rate[2] ?? '';
    return amount >= 1 && (amount === 1) === !unit.endsWith('s');
  }
  return CRON.test(value);
}

/** Typed access to context values, falling back to `CONTEXT_DEFAULTS`, collecting problems. */
class ContextReader {
  constructor(
    private readonly context: ContextSource,
    private readonly problems: string[],
  ) {}

  private raw(key: ContextKey): string {
    const value: unknown = this.context(key) ?? CONTEXT_DEFAULTS[key];
    if (typeof value === 'string') return value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (Array.isArray(value))
      return value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(',');
    // Anything else cannot be valid; showing it as JSON makes the error message say so.
    return JSON.stringify(value);
  }

  string(key: ContextKey, valid: (value: string) => boolean, expected: string, allowEmpty = false): string {
    const value = this.raw(key);
    if ((value === '' && !allowEmpty) || (value !== '' && !valid(value))) {
      this.problems.push(`${key}: expected ${expected}, got "${value}"`);
    }
    return value;
  }

  optionalString(key: ContextKey, valid: (value: string) => boolean, expected: string): string | undefined {
    const value = this.raw(key);
    if (value === '') return undefined;
    if (!valid(value)) this.problems.push(`${key}: expected ${expected}, got "${value}"`);
    return value;
  }

  list(key: ContextKey, separator: RegExp, valid: (item: string) => boolean, expected: string): string[] {
    const items = this.raw(key).split(separator).filter(Boolean);
    const bad = items.filter((item) => !valid(item));
    if (bad.length) this.problems.push(`${key}: expected ${expected}, got ${bad.map((b) => `"${b}"`).join(', ')}`);
    return items;
  }

  number(key: ContextKey, min: number, max: number): number {
    const raw = this.raw(key);
    const value = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${key}: expected a number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  }

  boolean(key: ContextKey): boolean {
    const raw = this.raw(key);
    if (raw !== 'true' && raw !== 'false') this.problems.push(`${key}: expected true or false, got "${raw}"`);
    return raw === 'true';
  }

  optionalNumber(key: ContextKey, min: number, max: number): number | undefined {
    return this.raw(key) === '' ? undefined : this.number(key, min, max);
  }

  optionalInteger(key: ContextKey, min: number, max: number): number | undefined {
    return this.raw(key) === '' ? undefined : this.integer(key, min, max);
  }

  integer(key: ContextKey, min: number, max: number): number {
    const raw = this.raw(key);
    const value = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${key}: expected an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  }
}
