import { taskStoreContract } from '../../test/fixtures/task-store-contract.js'
import { MemoryTaskStore } from './memory-task-store.js'

taskStoreContract('MemoryTaskStore', { open: async () => new MemoryTaskStore() })
