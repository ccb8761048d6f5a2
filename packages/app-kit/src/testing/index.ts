// @hypha/app-kit/testing: test support for the apps (not part of the main entry).
export * from './app-process.js'
export { type BinSmokeOptions, binSmokeTest } from './bin-smoke.js'
