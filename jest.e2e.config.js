/**
 * End-to-end tests in a real browser (playwright-core driving the system's Chromium) against
 * `npm start`. Not part of `npm test`: run with `npm run test:e2e` (CI does).
 */
module.exports = {
  projects: [
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
      setupFiles: ['<rootDir>/test/support/env.ts'],
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
  ],
};
