// The worker's configuration: the shared network sections plus [worker] (how many tasks at once,
// and the labels tasks can require).
import { defineConfigSchema } from '@hypha/network-core'
import { LabelsSchema } from '@hypha/tasks'
import { z } from 'zod'

export const workerConfigSchema = defineConfigSchema({
  worker: z
    .strictObject({
      capacity: z.int().min(1).prefault(1).meta({ description: 'Tasks this worker runs at the same time.' }),
      labels: LabelsSchema.prefault({}).meta({ description: 'Labels a task can require, e.g. { gpu = "a100" }.' }),
    })
    .prefault({})
    .meta({ description: 'Task execution.' }),
})
