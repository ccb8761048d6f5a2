#!/usr/bin/env node
// Committed entry point so the bin link exists before the first build; the CLI itself is compiled TypeScript.
import '../dist/src/cli.js'
