// The task API: submit (POST /tasks), look up (GET /tasks/:id) and list (GET /tasks) tasks.
// Engine errors map to HTTP: a conflicting re-submission is 409, an oversized input 413.
import { ZodValidationPipe } from '@hypha/app-kit'
import {
  type SubmitResult,
  TaskConflictError,
  TaskIdSchema,
  TaskInputTooLargeError,
  type TaskState,
  type TaskSubmission,
  TaskSubmissionSchema,
  type TaskView,
} from '@hypha/tasks'
import {
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Post,
  Query,
  Res,
} from '@nestjs/common'
import { z } from 'zod'
import { TaskSchedulerService } from './task-scheduler.service.js'

const STATES = ['pending', 'assigned', 'running', 'succeeded', 'failed'] as const satisfies readonly TaskState[]

export const TaskListQuerySchema = z.strictObject({
  /** Comma-separated states, e.g. `?state=pending,running`. */
  state: z
    .string()
    .transform((text) => text.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(z.enum(STATES)))
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
})
type TaskListQuery = z.infer<typeof TaskListQuerySchema>

/** The little of the platform's response this controller touches. */
interface StatusSink {
  status(code: number): unknown
}

@Controller('tasks')
export class TasksController {
  constructor(@Inject(TaskSchedulerService) private readonly service: TaskSchedulerService) {}

  /** 201 `{id}` for a new task; 200 `{id}` when the same id, executor and input already exist. */
  @Post()
  @HttpCode(HttpStatus.CREATED)
  async submit(
    @Body(new ZodValidationPipe(TaskSubmissionSchema)) body: TaskSubmission,
    @Res({ passthrough: true }) res: StatusSink,
  ): Promise<{ id: string }> {
    let outcome: SubmitResult
    try {
      outcome = await this.service.scheduler.submit(body)
    } catch (err) {
      if (err instanceof TaskConflictError) throw new ConflictException(err.message)
      if (err instanceof TaskInputTooLargeError) throw new PayloadTooLargeException(err.message)
      throw err
    }
    if (!outcome.created) res.status(HttpStatus.OK)
    return { id: outcome.id }
  }

  @Get()
  async list(@Query(new ZodValidationPipe(TaskListQuerySchema, 'query')) query: TaskListQuery): Promise<TaskView[]> {
    return this.service.scheduler.listTasks({ limit: query.limit, ...(query.state !== undefined ? { states: query.state } : {}) })
  }

  @Get(':id')
  async get(@Param('id', new ZodValidationPipe(TaskIdSchema, 'task id')) id: string): Promise<TaskView> {
    const task = await this.service.scheduler.getTask(id)
    if (task === undefined) throw new NotFoundException(`no task ${id}`)
    return task
  }
}
