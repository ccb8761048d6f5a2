// The worker's configuration: the shared network sections plus [worker] (how many tasks at once,
// the labels tasks can require, and the process executors it runs: each a command the operator
// declares, never one the scheduler chooses).
import { defineConfigSchema, durationSchema, sizeSchema } from '@hypha/network-core'
import { builtinExecutors, ExecutorNameSchema, LabelsSchema } from '@hypha/tasks'
import { z } from 'zod'

const BUILTIN_EXECUTORS = Object.keys(builtinExecutors())

export const processExecutorSchema = z.strictObject({
  command: z
    .array(z.string().min(1))
    .min(1)
    .meta({ description: 'The program and its fixed arguments, e.g. ["python3", "/opt/jobs/train.py"]. Nothing from the network is ever added to it.' }),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string())
    .prefault({})
    .meta({ description: 'Variables set for the job (besides PATH, LANG and the HYPHA_* ones).' }),
  pass_env: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'))
    .prefault([])
    .meta({ description: "Names of the worker's own environment variables the job gets; nothing else of the worker's environment reaches it." }),
  cwd: z.string().min(1).optional().meta({ description: "The job's working directory (default: its attempt directory)." }),
  timeout: durationSchema().optional().meta({ description: 'The job is stopped (SIGTERM, then SIGKILL after grace) after this long; a task may set a shorter timeout.' }),
  max_output: sizeSchema()
    .prefault('1GiB')
    .meta({ description: 'Largest result (stdout or $HYPHA_RESULT); a job writing more is killed and fails.' }),
  grace: durationSchema()
    .pipe(z.number().int().min(0).max(600_000))
    .prefault('5s')
    .meta({ description: 'Time between SIGTERM and SIGKILL when a job is stopped (timeout, cancel, lost lease, worker shutdown).' }),
  result: z
    .enum(['json', 'file'])
    .prefault('json')
    .meta({ description: '"json": the result is a JSON value (up to 1 MiB, in the task view); "file": the result is bytes of any size, delivered to the scheduler over bulk transfer (GET /tasks/:id/result).' }),
  stdin: z.boolean().prefault(true).meta({ description: 'Feed the task input on stdin as well as in $HYPHA_INPUT.' }),
})

export const workerConfigSchema = defineConfigSchema({
  worker: z
    .strictObject({
      capacity: z.int().min(1).prefault(1).meta({ description: 'Tasks this worker runs at the same time.' }),
      labels: LabelsSchema.prefault({}).meta({ description: 'Labels a task can require, e.g. { gpu = "a100" }.' }),
      work_dir: z
        .string()
        .min(1)
        .prefault('work')
        .meta({ description: "Where each job attempt gets its own directory (mode 0700, removed afterwards) and where result files wait for delivery." }),
      builtin_executors: z
        .boolean()
        .prefault(true)
        .meta({ description: 'Offer the built-in executors echo, sleep and sha256 besides the configured ones.' }),
      executors: z
        .record(ExecutorNameSchema, processExecutorSchema)
        .refine((executors) => Object.keys(executors).every((name) => !BUILTIN_EXECUTORS.includes(name)), {
          error: `an executor may not take a built-in's name (${BUILTIN_EXECUTORS.join(', ')})`,
        })
        .prefault({})
        .meta({ description: 'Process executors by name, [worker.executors.<name>]: what this worker advertises and the scheduler matches tasks on.' }),
    })
    .prefault({})
    .meta({ description: 'Task execution.' }),
})
