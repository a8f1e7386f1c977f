/** Jest: TypeScript through ts-jest; files run one at a time because they share one real stack. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 300000,
  maxWorkers: 1,
  // The stack-lifecycle test stops the services, so it runs last.
  testSequencer: '<rootDir>/tests/sequencer.js',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  verbose: true,
};
