#!/usr/bin/env -S node --max-semi-space-size=16
// Committed entry point so the bin link exists before the first build; the app itself is compiled TypeScript.
import '../dist/main.js'
