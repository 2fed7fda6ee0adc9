/**
 * How every function is bundled: one definition for the stack's NodejsFunction
 * (`infra/constructs/service-function.ts`) and for the benchmark and the bundle tests, which
 * run esbuild with the same options (`esbuildArgs`). `npm run bench` measures the effect of
 * each choice on the cold start.
 */

/**
 * Packages left out of every function bundle (esbuild `external`): code a Lambda function
 * bundles but never runs, which still costs cold start because V8 parses every byte of the
 * bundle at load.
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

/**
 * A package's ES module build before its CommonJS one. esbuild's default for Node is the
 * reverse, and the AWS SDK's CommonJS build is one file per package that cannot be
 * tree-shaken: every protocol (CBOR, XML, query), event streams and every command's schema
 * came along. ES modules first cut the exchange bundle from 640 to 420 KiB and its load
 * time by a third.
 */
export const MAIN_FIELDS = ['module', 'main'];

/**
 * Minified, without source maps: `--enable-source-maps` makes Node read and index the map
 * of the whole bundle at load (a seventh of the cold start here), and what we log never
 * carries a stack (`lib/log.ts`: an error's name, message, code and cause). An error that
 * escapes a handler shows a minified stack in the function's log; `npm run synth` builds the
 * same bundle to read it against.
 */
export const FUNCTION_BUNDLING = {
  target: 'node22',
  minify: true,
  sourceMap: false,
  mainFields: MAIN_FIELDS,
  externalModules: NOT_BUNDLED,
} as const;

/**
 * esbuild's command-line arguments for one function, as NodejsFunction runs it with
 * `FUNCTION_BUNDLING`. `external`: what to leave out (the benchmark's seed-style baseline keeps everything).
 */
export function esbuildArgs(
  entry: string,
  outfile: string,
  external: readonly string[] = FUNCTION_BUNDLING.externalModules,
): string[] {
  return [
    entry,
    '--bundle',
    '--platform=node',
    `--target=${FUNCTION_BUNDLING.target}`,
    '--format=cjs',
    ...(FUNCTION_BUNDLING.minify ? ['--minify'] : []),
    `--main-fields=${FUNCTION_BUNDLING.mainFields.join(',')}`,
    `--outfile=${outfile}`,
    '--log-level=error',
    ...external.map((name) => `--external:${name}`),
  ];
}
