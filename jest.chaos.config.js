/** Chaos scenarios (several daemons, SIGKILL, Redis restarts, fault injection): `npm run test:chaos`. */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/chaos'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 600000,
};
