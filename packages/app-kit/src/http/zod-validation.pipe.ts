// Validates a request part (body, query) with a zod schema: 400 with every problem named by its
// path, so an API client learns at once what to fix.
import { BadRequestException, type PipeTransform } from '@nestjs/common'
import type { z } from 'zod'

export interface ValidationProblem {
  path: string
  message: string
}

export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    /** What is validated, for the message: "request body", "query". */
    private readonly what = 'request body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const parsed = this.schema.safeParse(value)
    if (parsed.success) return parsed.data
    const problems: ValidationProblem[] = parsed.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(root)',
      message: issue.message,
    }))
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: `invalid ${this.what}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      problems,
    })
  }
}
