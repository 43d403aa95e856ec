/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  transform: { '^.+\\.(t|m?j)s$': ['@swc/jest'] },
  // msw 2.x depends on ESM-only packages that Jest on Node 20 cannot require() untransformed.
  transformIgnorePatterns: [
    '/node_modules/(?!(rettime|until-async|@open-draft/deferred-promise)/)',
  ],
  clearMocks: true,
  globalSetup: '<rootDir>/tests/global-setup.js',
  testTimeout: 30000,
};
