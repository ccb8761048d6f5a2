// The task API: submit (POST /tasks), look up (GET /tasks/:id), list (GET /tasks), cancel
// (DELETE /tasks/:id) and read a result (GET /tasks/:id/result: the JSON value, or the bytes of a
// result file, streamed). Engine errors (409 conflict, 413 too large) are mapped by TaskErrorFilter.
import { ZodValidationPipe } from '@hypha/app-kit'
import {
  Scheduler,
  TASK_STATES,
  TaskIdSchema,
  type TaskState,
  type TaskSubmission,
  TaskSubmissionSchema,
  type TaskView,
} from '@hypha/tasks'
import { createReadStream } from 'node:fs'
import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Inject, NotFoundException, Param, Post, Query, Res, StreamableFile } from '@nestjs/common'
import { z } from 'zod'

const STATES = TASK_STATES as readonly [TaskState, ...TaskState[]]

export const TaskListQuerySchema = z.strictObject({
  /** Comma-separated states, e.g. `?state=pending,running`. */
  state: z
    .string()
    .transform((text) => text.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(z.enum(STATES)))
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** Paging: the tasks after this id in the listing's order (the last id of the previous page). */
  after: TaskIdSchema.optional(),
  /** `oldest` first (submission order, the default) or `newest` first (the latest submissions). */
  order: z.enum(['oldest', 'newest']).default('oldest'),
})
type TaskListQuery = z.infer<typeof TaskListQuerySchema>

/** The little of the platform's response this controller touches. */
interface StatusSink {
  status(code: number): unknown
}

interface HeaderSink {
  setHeader(name: string, value: string | number): unknown
}

export const CancelQuerySchema = z.strictObject({ reason: z.string().min(1).max(512).optional() })
type CancelQuery = z.infer<typeof CancelQuerySchema>

const TaskIdPipe = new ZodValidationPipe(TaskIdSchema, 'task id')

@Controller('tasks')
export class TasksController {
  constructor(@Inject(Scheduler) private readonly scheduler: Scheduler) {}

  /** 201 `{id}` for a new task; 200 `{id}` when the same id, executor and input already exist. */
  @Post()
  @HttpCode(HttpStatus.CREATED)
  async submit(
    @Body(new ZodValidationPipe(TaskSubmissionSchema)) body: TaskSubmission,
    @Res({ passthrough: true }) res: StatusSink,
  ): Promise<{ id: string }> {
    const outcome = await this.scheduler.submit(body)
    if (!outcome.created) res.status(HttpStatus.OK)
    return { id: outcome.id }
  }

  @Get()
  async list(@Query(new ZodValidationPipe(TaskListQuerySchema, 'query')) query: TaskListQuery): Promise<TaskView[]> {
    return this.scheduler.listTasks({
      limit: query.limit,
      ...(query.state !== undefined ? { states: query.state } : {}),
      ...(query.after !== undefined ? { after: query.after } : {}),
      newestFirst: query.order === 'newest',
    })
  }

  @Get(':id')
  async get(@Param('id', TaskIdPipe) id: string): Promise<TaskView> {
    const task = await this.scheduler.getTask(id)
    if (task === undefined) throw new NotFoundException(`no task ${id}`)
    return task
  }

  /**
   * The result of a succeeded task: a result file's bytes (application/octet-stream, with
   * x-hypha-sha256 and content-length), or the JSON value. 404 for an unknown task or one
   * without a result (yet), or whose file is past retention.
   */
  @Get(':id/result')
  async result(@Param('id', TaskIdPipe) id: string, @Res({ passthrough: true }) res: HeaderSink): Promise<StreamableFile | { result: unknown }> {
    const task = await this.scheduler.getTask(id)
    if (task === undefined) throw new NotFoundException(`no task ${id}`)
    if (task.state !== 'succeeded') throw new NotFoundException(`task ${id} is ${task.state}: it has no result`)
    if (task.resultPayload === undefined) return { result: task.result ?? null }
    const file = await this.scheduler.resultFile(id)
    if (file === undefined) throw new NotFoundException(`the result file of task ${id} is no longer kept`)
    res.setHeader('x-hypha-sha256', file.sha256)
    return new StreamableFile(createReadStream(file.path), { type: 'application/octet-stream', length: file.size, disposition: `attachment; filename="${id.replace(/[^A-Za-z0-9._-]/g, '_')}.result"` })
  }

  /** Cancels an unfinished task (200 with its view, now failed); 409 once it has finished, 404 if unknown. */
  @Delete(':id')
  async cancel(
    @Param('id', TaskIdPipe) id: string,
    @Query(new ZodValidationPipe(CancelQuerySchema, 'query')) query: CancelQuery,
  ): Promise<TaskView> {
    const view = await this.scheduler.cancel(id, query.reason ?? 'by request')
    if (view === undefined) throw new NotFoundException(`no task ${id}`)
    return view
  }
}
