/** Three projects: fast unit tests, integration tests against the emulators over HTTP, CDK assertions. */
const transform = { '^.+\\.[tj]s$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
// jose 6 ships ESM only; jest's module system is CommonJS, so swc compiles jose as it does our code.
const transformIgnorePatterns = ['/node_modules/(?!jose/)'];
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns,
  setupFiles: ['<rootDir>/test/support/env.ts'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  ],
};
