/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Long multi-process scenarios run separately: npm run test:chaos.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/chaos/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // light-my-request (Fastify's inject) depends on ESM-only packages; Jest on Node 20 needs them as CommonJS.
    '^.+/node_modules/(cookie|set-cookie-parser)/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, isolatedModules: true, module: 'commonjs', target: 'ES2022' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(cookie|set-cookie-parser)/)'],
  // Type checking is done once by `tsc --noEmit` in `npm test`; ts-jest only transpiles.
  maxWorkers: 2,
  testTimeout: 30000,
};
