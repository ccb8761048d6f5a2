// The scheduler's configuration: the shared network sections plus [scheduler] (where tasks are
// stored and for how long, leases, retries, announcements and how large a task input may be).
import { defineConfigSchema, durationSchema, sizeSchema } from '@hypha/network-core'
import { z } from 'zod'

export const schedulerConfigSchema = defineConfigSchema({
  scheduler: z
    .strictObject({
      store: z
        .string()
        .refine((value) => value === 'sqlite' || value === 'memory' || /^postgres(ql)?:\/\/./.test(value), {
          error: (issue) => `expected "sqlite", "memory" or a postgres://user@host:port/db URL, got ${JSON.stringify(issue.input)}`,
        })
        .refine((value) => !/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(value), {
          error: 'a postgres URL must not carry the password: set PGPASSWORD in the environment',
        })
        .prefault('sqlite')
        .meta({ description: 'Where tasks are kept: "sqlite" (a file under data_dir; survives restarts), "memory" (lost on exit; tests) or a postgres://user@host:port/db URL (shared by scheduler replicas: one leads, the others stand by; the password from PGPASSWORD, never the file).' }),
      postgres_schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _')
        .prefault('hypha')
        .meta({ description: 'With a postgres store: the schema holding this task set (replicas of one set share it).' }),
      data_dir: z
        .string()
        .min(1)
        .prefault('data')
        .meta({ description: 'Directory of the task database (tasks.db), relative to the working directory like every path here.' }),
      durability: z
        .enum(['crash', 'power-loss'])
        .prefault('crash')
        .meta({ description: 'What an accepted task survives with store = "sqlite": "crash" (a killed process loses nothing) or "power-loss" (also an OS crash or power cut: an fsync per commit, ~15% fewer tasks a second).' }),
      retention: durationSchema()
        .pipe(z.number().int().min(1_000))
        .prefault('7d')
        .meta({ description: 'Finished tasks (succeeded or failed) are kept this long, then pruned in the background.' }),
      lease: durationSchema()
        .pipe(z.number().int().min(100).max(3_600_000))
        .prefault('10s')
        .meta({ description: 'Lease granted per assignment and per renewal; a worker silent this long loses its task.' }),
      max_attempts: z
        .int()
        .min(1)
        .max(100)
        .prefault(3)
        .meta({ description: 'Assignments per task before it fails for good (a task may override it, up to 100).' }),
      announce_interval: durationSchema()
        .pipe(z.number().int().min(50))
        .prefault('1s')
        .meta({ description: 'Pending tasks are announced again this often until a worker takes them.' }),
      max_result_size: sizeSchema()
        .prefault('4GiB')
        .meta({ description: 'Largest result file a worker may deliver (executors with result = "file"); kept under data_dir/payloads for the retention. Replicas sharing a postgres store must share that directory too.' }),
      max_input_size: sizeSchema()
        .pipe(z.number().int().min(1).max(1024 * 1024 * 1024))
        .prefault('64MiB')
        .meta({ description: 'Largest task input accepted by POST /tasks (base64 bodies are 4/3 of it).' }),
    })
    .prefault({})
    .meta({ description: 'Task scheduling.' }),
})

/** The JSON body that carries a max_input_size input as base64, plus room for the other fields. */
export function taskBodyLimit(maxInputBytes: number): number {
  return Math.ceil(maxInputBytes / 3) * 4 + 64 * 1024
}
