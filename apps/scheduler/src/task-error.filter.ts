// The one place task-engine errors become HTTP answers: a conflicting re-submission and the
// cancel of a finished task are 409, an oversized input 413. Anything else is not ours and goes to Nest's default handling.
import { TaskConflictError, TaskFinishedError, TaskInputTooLargeError } from '@hypha/tasks'
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus } from '@nestjs/common'

interface JsonReply {
  status(code: number): JsonReply
  json(body: unknown): unknown
}

const STATUS = new Map<string, number>([
  ['TaskConflictError', HttpStatus.CONFLICT],
  ['TaskFinishedError', HttpStatus.CONFLICT],
  ['TaskInputTooLargeError', HttpStatus.PAYLOAD_TOO_LARGE],
])

@Catch(TaskConflictError, TaskFinishedError, TaskInputTooLargeError)
export class TaskErrorFilter implements ExceptionFilter<Error> {
  catch(error: Error, host: ArgumentsHost): void {
    const status = STATUS.get(error.name) ?? HttpStatus.INTERNAL_SERVER_ERROR
    host.switchToHttp().getResponse<JsonReply>().status(status).json({ statusCode: status, error: error.name, message: error.message })
  }
}
