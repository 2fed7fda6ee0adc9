/**
 * Sizing of the refresh fleet from one number: the Google requests per second the project
 * lets the refresh use. The CDK stack and the simulation both derive the worker's
 * concurrency and per-environment rate here, so nobody multiplies settings by hand.
 */

/** A worker execution environment keeps up with this many Google requests per second at 256 MB (see README, "Scale and cost"). */
export const DEFAULT_REQUESTS_PER_ENVIRONMENT = 50;
/** The refresh grant, plus one Drive call per job (`appdata-summary` reads one page for most users). */
export const DEFAULT_GOOGLE_REQUESTS_PER_USER = 2;
/** A Google request's typical latency, seconds. */
const GOOGLE_LATENCY_S = 0.25;
/** Seconds of work one worker invocation is given: well inside its 3-minute timeout. */
const INVOCATION_BUDGET_S = 100;
const MAX_BATCH_SIZE = 10;
/** SQS event sources accept a maximum concurrency of 2 to 1000. */
const MIN_ENVIRONMENTS = 2;
const MAX_ENVIRONMENTS = 1000;

export interface RefreshSizingInput {
  /** Google requests per second the whole fleet may send (the project's allowance for the refresh). */
  googleRequestsPerSecond: number;
  /** Google requests one execution environment sustains (default 50). */
  requestsPerEnvironment?: number;
  /** An operator's explicit number of environments, instead of the derived one. */
  workerMaxConcurrency?: number;
  /** The most users the dispatcher may put in one message (default 200). */
  maxUsersPerMessage?: number;
}

export interface RefreshSizing {
  /** The worker's SQS event source `maxConcurrency`: execution environments at once. */
  workerMaxConcurrency: number;
  /** `GOOGLE_QPS`: each environment's share of the allowance. */
  perEnvironmentQps: number;
  /** `REFRESH_USER_CONCURRENCY`: users in flight per environment to keep its share busy. */
  userConcurrency: number;
  /**
   * `DISPATCH_USERS_PER_MESSAGE` and the event source's batch size: as many users per
   * invocation as the environment's share gets through in well under its timeout, so a
   * batch is not cut short (and its messages sent round again) by the deadline.
   */
  usersPerMessage: number;
  batchSize: number;
}

export function refreshSizing(input: RefreshSizingInput): RefreshSizing {
  const perEnvironmentMax = input.requestsPerEnvironment ?? DEFAULT_REQUESTS_PER_ENVIRONMENT;
  const environments =
    input.workerMaxConcurrency ??
    Math.min(
      MAX_ENVIRONMENTS,
      Math.max(MIN_ENVIRONMENTS, Math.ceil(input.googleRequestsPerSecond / perEnvironmentMax)),
    );
  // Rounded down to a thousandth: the environment variable must not add up to more than the allowance.
  const perEnvironmentQps = Math.floor((input.googleRequestsPerSecond / environments) * 1000) / 1000;
  // Users in flight = the rate × how long each request takes, doubled to ride out slow answers.
  const userConcurrency = Math.min(256, Math.max(2, Math.ceil(perEnvironmentQps * GOOGLE_LATENCY_S * 2)));
  const usersPerInvocation = Math.floor((perEnvironmentQps / DEFAULT_GOOGLE_REQUESTS_PER_USER) * INVOCATION_BUDGET_S);
  const usersPerMessage = Math.max(1, Math.min(input.maxUsersPerMessage ?? 200, usersPerInvocation));
  const batchSize = Math.max(1, Math.min(MAX_BATCH_SIZE, Math.floor(usersPerInvocation / usersPerMessage)));
  return { workerMaxConcurrency: environments, perEnvironmentQps, userConcurrency, usersPerMessage, batchSize };
}

/** The shortest a cycle can be: every user's Google requests at exactly the allowance. */
export function quotaFloorSeconds(users: number, googleRequestsPerSecond: number, requestsPerUser: number): number {
  return (users * requestsPerUser) / googleRequestsPerSecond;
}
