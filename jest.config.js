/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Long multi-process scenarios run separately: npm run test:chaos.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/chaos/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  // Type checking is done once by `tsc --noEmit` in `npm test`; ts-jest only transpiles.
  maxWorkers: 2,
  testTimeout: 30000,
};
