// The flags every Hypha node process starts node with.
//
// They are start-up flags: V8 sizes its heap when the isolate is created and
// `v8.setFlagsFromString` afterwards changes nothing, so every launcher passes them itself:
// the bins' shebangs (`#!/usr/bin/env -S node <flags>`, which pnpm's bin shims copy onto their
// `node` command line), the local stack when it spawns a node, and the images' ENTRYPOINT.
// `node-flags.test.ts` keeps those in step with this list.
//
// --max-semi-space-size=16 (MiB): when many objects survive a scavenge, as every connection
// set-up's do, V8 doubles the young generation up to its default cap, 64 MiB semi-spaces
// (a 128 MiB new space) on a 64-bit machine with a few GiB free, and the pages it touched
// stay resident. A gateway serving reconnecting QUIC workers grew by ~60 MB of RSS that way
// (heap used flat at 30 MB), which looked like a leak. 16 MiB semi-spaces keep that bounded
// with no measurable cost to throughput, RPC latency or handshake rate (docs/benchmarks.md).
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=16']
