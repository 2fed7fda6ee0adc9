/**
 * Projects: fast unit tests, integration tests against the in-process emulators over HTTP,
 * CDK assertions, the reliability suite — all need nothing but Node.js and the lockfile (`npm test`) — and
 * `tools`, the tier that needs moto_server and cfn-lint on PATH (`npm run test:tools`, CI).
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { testEnvironment: 'node', transform, setupFiles: ['<rootDir>/test/support/env.ts'] };
/** Integration tests start emulators and real servers: jest's 5 s default is no fit on a busy 2-core machine. */
const slow = { testTimeout: 60_000 };
const motoParity = ['kms-emulator', 'sqs-emulator', 'provision'];

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, ...slow, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    {
      ...common,
      ...slow,
      displayName: 'local',
      testMatch: ['<rootDir>/test/local/**/*.test.ts'],
      globals: { TEST_BACKENDS: 'emulators' },
    },
    { ...common, ...slow, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    // Fault matrix, load, races, fuzz and secret scan (RELIABILITY_SCALE sizes the load and fuzz runs).
    { ...common, ...slow, displayName: 'reliability', testMatch: ['<rootDir>/test/reliability/**/*.test.ts'] },
    {
      ...common,
      ...slow,
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
