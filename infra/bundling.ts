/**
 * Packages left out of every function bundle (esbuild `external`): code a Lambda function
 * bundles but never runs, which still costs cold start because V8 parses every byte of the
 * bundle at load (`npm run bench` measures it: about a quarter of the exchange bundle).
 *
 * - The AWS SDK's credential providers other than the environment's, with the nested SSO/STS/
 *   sign-in clients they use: Lambda always sets `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
 *   `AWS_SESSION_TOKEN`, so the default chain stops at `fromEnv`; the others are `require`d
 *   only when reached. Were they ever reached, the chain would fail with "Cannot find module"
 *   instead of looking for a profile file Lambda does not have.
 * - `bowser`: the SDK's browser user-agent parser, imported only in browsers.
 * - `node-fetch` (and its `web-streams-polyfill`): gaxios imports it only when it is given no
 *   fetch; lib/google/oauth.ts and lib/jobs/drive.ts give it Node's own.
 *
 * Only the deployed bundles leave them out: tests and the local stack run from `node_modules`.
 */
export const NOT_BUNDLED = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/token-providers',
  '@aws-sdk/nested-clients',
  'bowser',
  'node-fetch',
];
