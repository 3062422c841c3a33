/** Two projects: fast template tests (unit) and tests on the real engines (engines). */
const tsJest = ['ts-jest', { diagnostics: false }];

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 180000,
  // Engine suites share one broker and the catalog's topic names: run test files one at a time.
  maxWorkers: 1,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit', '<rootDir>/test/support'],
      testMatch: ['**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      snapshotSerializers: ['<rootDir>/test/unit/asset-hash-serializer.js'],
    },
    {
      displayName: 'engines',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/engines', '<rootDir>/test/support'],
      testMatch: ['**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      globalSetup: '<rootDir>/test/engines/global-setup.ts',
      globalTeardown: '<rootDir>/test/engines/global-teardown.ts',
    },
  ],
};
