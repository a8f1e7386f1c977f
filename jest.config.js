/** Jest: TypeScript through ts-jest; files run one at a time because they share one real stack. */
module.exports = {
  preset: 'ts-jest',
  // Each file gets task queues of its own and fresh rate limits, and fails if it leaves anything running.
  testEnvironment: '<rootDir>/tests/environment.js',
  roots: ['<rootDir>/src', '<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 300000,
  maxWorkers: 1,
  // The stack-lifecycle test stops the services, so it runs last; NEURONODE_TEST_ORDER=shuffle shuffles the rest.
  testSequencer: '<rootDir>/tests/sequencer.js',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  verbose: true,
};
