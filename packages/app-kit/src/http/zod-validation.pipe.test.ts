import { BadRequestException } from '@nestjs/common'
import { z } from 'zod'
import { ZodValidationPipe } from './zod-validation.pipe.js'

const pipe = new ZodValidationPipe(z.strictObject({ name: z.string(), size: z.number().int().positive().optional() }))

describe('ZodValidationPipe', () => {
  it('passes the parsed value through', () => {
    expect(pipe.transform({ name: 'a', size: 2 })).toEqual({ name: 'a', size: 2 })
  })

  it('answers 400 naming every problem by its path', () => {
    let caught: unknown
    try {
      pipe.transform({ size: -1, extra: true })
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(BadRequestException)
    const body = (caught as BadRequestException).getResponse() as { message: string; problems: Array<{ path: string }> }
    expect(body.problems.map((p) => p.path).sort()).toEqual(['(root)', 'name', 'size'])
    expect(body.message).toMatch(/^invalid request body: /)
    expect(body.message).toContain('size:')
  })

  it('rejects a missing body', () => {
    expect(() => pipe.transform(undefined)).toThrow(BadRequestException)
  })
})
