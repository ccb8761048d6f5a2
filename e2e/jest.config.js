import base from '../jest.config.base.js'

// Containers take a while to build topologies; each file is one topology, run one at a time.
export default { ...base, testTimeout: 300_000 }
