#!/usr/bin/env node
// Committed entry point so the bin link exists before the first build; the CLI itself is compiled TypeScript.
import { main } from '../dist/src/cli.js'

const code = await main(process.argv.slice(2))
process.exitCode = code
// a libp2p node (probe, lookup) may leave a handle behind: a finished command must still end
setTimeout(() => process.exit(code), 2_000).unref()
