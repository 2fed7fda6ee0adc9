/**
 * Projects: fast unit tests, integration tests against the in-process emulators over HTTP,
 * CDK assertions — all three need nothing but Node.js and the lockfile (`npm test`) — and
 * `tools`, the tier that needs moto_server and cfn-lint on PATH (`npm run test:tools`, CI).
 */
const transform = { '^.+\\.[tj]s$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
// jose 6 ships ESM only; jest's module system is CommonJS, so swc compiles jose as it does our code.
const transformIgnorePatterns = ['/node_modules/(?!jose/)'];
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns,
  setupFiles: ['<rootDir>/test/support/env.ts'],
};
const motoParity = ['kms-emulator', 'sqs-emulator', 'provision'];

module.exports = {
  // Integration tests start emulators and real servers: jest's 5 s default is no fit on a
  // busy 2-core machine (a per-project testTimeout is not honoured; this one is global).
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    {
      ...common,
      displayName: 'local',
      testMatch: ['<rootDir>/test/local/**/*.test.ts'],
      globals: { TEST_BACKENDS: 'emulators' },
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'tools',
      // The wire-protocol suites of the emulators again, this time against moto_server.
      testMatch: [
        '<rootDir>/test/tools/**/*.test.ts',
        ...motoParity.map((name) => `<rootDir>/test/local/${name}.test.ts`),
      ],
      globals: { TEST_BACKENDS: 'moto' },
    },
  ],
};
