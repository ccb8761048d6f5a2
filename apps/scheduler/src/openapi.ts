// The scheduler's part of GET /openapi.json: the task API, described by the schemas that validate
// its requests (TaskSubmissionSchema, the query schemas of the controllers) and shape its
// responses (TaskViewSchema, WorkerViewSchema). @hypha/client uses the same types.
import { jsonResponse, type OpenApiSection, ref } from '@hypha/app-kit'
import { TASK_STATES, TaskIdSchema, TaskSubmissionSchema, TaskViewSchema, WorkerViewSchema } from '@hypha/tasks'
import { z } from 'zod'
import { CancelQuerySchema, TaskListQuerySchema } from './tasks.controller.js'

const SubmitAnswerSchema = z.object({ id: z.string() }).meta({ description: 'The id of the task (new, or the existing one with this id).' })

const SchedulerViewSchema = z
  .object({
    role: z.enum(['leader', 'standby']),
    leader: z.string().nullable(),
    tasks: z.record(z.enum(TASK_STATES as ['pending', ...string[]]), z.number().int()),
  })
  .meta({ description: "This replica's role in its task set, who leads, and the task counts by state." })

const problem = (description: string): Record<string, unknown> => jsonResponse(description, ref('Problem'))
// parameters described by the schemas that validate them (TaskIdPipe, the query schemas)
const taskId = { name: 'id', in: 'path', required: true, schema: ref('TaskId') }

export const SCHEDULER_OPENAPI: OpenApiSection = {
  schemas: {
    TaskId: TaskIdSchema,
    CancelReason: CancelQuerySchema.shape.reason.unwrap(),
    TaskListLimit: TaskListQuerySchema.shape.limit,
    TaskListOrder: TaskListQuerySchema.shape.order,
    TaskSubmission: TaskSubmissionSchema,
    SubmitAnswer: SubmitAnswerSchema,
    TaskView: TaskViewSchema,
    WorkerView: WorkerViewSchema,
    SchedulerView: SchedulerViewSchema,
  },
  paths: {
    '/tasks': {
      post: {
        summary: 'Submit a task',
        operationId: 'submitTask',
        requestBody: { required: true, content: { 'application/json': { schema: ref('TaskSubmission') } } },
        responses: {
          201: jsonResponse('A new task', ref('SubmitAnswer')),
          200: jsonResponse('A task with this id, executor and input already existed', ref('SubmitAnswer')),
          400: problem('An invalid body: every invalid field in problems'),
          409: problem('The id exists with another executor or input'),
          413: problem('The input is larger than max_input_size'),
        },
      },
      get: {
        summary: 'List tasks in submission order, oldest or newest first',
        operationId: 'listTasks',
        parameters: [
          { name: 'state', in: 'query', required: false, description: 'Comma-separated states', schema: { type: 'string', example: 'pending,running' } },
          { name: 'limit', in: 'query', required: false, schema: ref('TaskListLimit') },
          { name: 'after', in: 'query', required: false, description: 'Page on after this task id (in the listing\'s order)', schema: ref('TaskId') },
          { name: 'order', in: 'query', required: false, description: 'oldest first (submission order) or newest first', schema: ref('TaskListOrder') },
        ],
        responses: { 200: jsonResponse('The tasks', { type: 'array', items: ref('TaskView') }), 400: problem('An invalid query') },
      },
    },
    '/tasks/{id}': {
      get: {
        summary: 'A task',
        operationId: 'getTask',
        parameters: [taskId],
        responses: { 200: jsonResponse('The task', ref('TaskView')), 404: problem('No such task') },
      },
      delete: {
        summary: 'Cancel a task that has not finished',
        operationId: 'cancelTask',
        parameters: [taskId, { name: 'reason', in: 'query', required: false, schema: ref('CancelReason') }],
        responses: {
          200: jsonResponse('The task, now failed with "cancelled: <reason>"', ref('TaskView')),
          404: problem('No such task'),
          409: problem('The task has already finished'),
        },
      },
    },
    '/tasks/{id}/result': {
      get: {
        summary: 'The result of a succeeded task',
        operationId: 'getTaskResult',
        parameters: [taskId],
        responses: {
          200: {
            description: 'A JSON result as {result}, or the bytes of a result file',
            headers: { 'x-hypha-sha256': { description: "A result file's sha256 (hex)", schema: { type: 'string' } } },
            content: {
              'application/json': { schema: { type: 'object', properties: { result: {} }, required: ['result'] } },
              'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
            },
          },
          404: problem('No such task, no result (yet), or a result file past retention'),
        },
      },
    },
    '/workers': {
      get: { summary: 'Workers this scheduler knows', operationId: 'listWorkers', responses: { 200: jsonResponse('The workers', { type: 'array', items: ref('WorkerView') }) } },
    },
    '/scheduler': {
      get: { summary: "This replica's role, its leader and the task counts", operationId: 'getScheduler', responses: { 200: jsonResponse('The replica', ref('SchedulerView')) } },
    },
  },
}
