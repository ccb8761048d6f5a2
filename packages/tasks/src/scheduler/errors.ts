// What the scheduler's API refuses. The HTTP app maps each to a status code in one filter.

/** submit() with an existing id but a different executor or input. */
export class TaskConflictError extends Error {
  override readonly name = 'TaskConflictError'
  readonly taskId: string

  constructor(taskId: string) {
    super(`task ${taskId} already exists with a different executor or input`)
    this.taskId = taskId
  }
}

/** submit() with an input larger than maxInputBytes. */
export class TaskInputTooLargeError extends Error {
  override readonly name = 'TaskInputTooLargeError'

  constructor(size: number, limit: number) {
    super(`task input of ${size} bytes exceeds the limit of ${limit} bytes`)
  }
}

/** cancel() of a task that has already finished (succeeded or failed). */
export class TaskFinishedError extends Error {
  override readonly name = 'TaskFinishedError'
  readonly taskId: string

  constructor(taskId: string, state: string) {
    super(`task ${taskId} has already ${state === 'succeeded' ? 'succeeded' : 'failed'}; there is nothing to cancel`)
    this.taskId = taskId
  }
}

/** A write sent to a scheduler replica that does not lead (fail-over: it forwards nothing). */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError'

  constructor(readonly leader: string | undefined) {
    super(leader === undefined ? 'this scheduler is a standby and no leader is known yet' : `this scheduler is a standby; the leader is ${leader}`)
  }
}
