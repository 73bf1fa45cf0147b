import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/**
 * Validates a request body (or param, or header) against a zod schema at the edge. Bad input is
 * refused with 400 and one entry per broken field, before any code that could change something.
 */
export class ZodValidationPipe<Schema extends z.ZodType> implements PipeTransform<unknown, z.infer<Schema>> {
  /** @param name what the value is, when it is not a body: a header or a path parameter. */
  constructor(
    private readonly schema: Schema,
    private readonly name = '(body)',
  ) {}

  transform(value: unknown): z.infer<Schema> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const errors: FieldError[] = result.error.issues.map((issue) => ({
      field: [this.name === '(body)' ? '' : this.name, ...issue.path].filter(Boolean).join('.') || this.name,
      message: issue.message,
    }));
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'validation failed', errors });
  }
}
