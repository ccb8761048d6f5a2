#!/usr/bin/env node
// Committed entry point so the bin link exists before the first build; the CLI itself is compiled TypeScript.
import { main } from '../dist/src/cli/certutil.js'

process.exitCode = await main(process.argv.slice(2))
