// Native-ESM Jest (NestJS 12 is ESM-only): run with node --experimental-vm-modules; see docs/adr/0002-esm-and-jest.md.
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^#rollgate/(.*)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};

export default {
  // Jest 30 reads testTimeout at the root only; e2e suites raise it further with jest.setTimeout.
  testTimeout: 60_000,
  // A suite that fails half-way may leave a socket or a child behind; the run must still end and report, never
  // wait out CI's deadline (it once did). Suites clean up after themselves; this is the backstop.
  forceExit: true,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    { ...shared, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/apps/e2e/**/*.e2e-spec.ts'] },
  ],
};
