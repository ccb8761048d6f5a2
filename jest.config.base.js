// Jest runs the compiled ESM output (dist/), so tests exercise exactly what ships and no
// transform is needed for the ESM-only libp2p packages. `pnpm build` runs first (turbo).
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist'],
  testMatch: ['**/*.test.js'],
  transform: {},
  testTimeout: 60_000,
  // Real libp2p nodes hold sockets; tests close them, a leak should fail loudly rather than hang CI.
  openHandlesTimeout: 5_000,
}
