// The task API: submit (POST /tasks), look up (GET /tasks/:id) and list (GET /tasks) tasks.
// Engine errors (409 conflict, 413 too large) are mapped by TaskErrorFilter.
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
import { Body, Controller, Get, HttpCode, HttpStatus, Inject, NotFoundException, Param, Post, Query, Res } from '@nestjs/common'
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
  /** Paging: tasks submitted after this id (the last id of the previous page). */
  after: TaskIdSchema.optional(),
})
type TaskListQuery = z.infer<typeof TaskListQuerySchema>

/** The little of the platform's response this controller touches. */
interface StatusSink {
  status(code: number): unknown
}

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
    })
  }

  @Get(':id')
  async get(@Param('id', new ZodValidationPipe(TaskIdSchema, 'task id')) id: string): Promise<TaskView> {
    const task = await this.scheduler.getTask(id)
    if (task === undefined) throw new NotFoundException(`no task ${id}`)
    return task
  }
}
