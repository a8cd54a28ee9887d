import { type PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { ValidationFailed } from './domain-error.js';

/** Validates a body, query or params against a zod schema; the failure lists every bad field. */
export class ZodValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T>) {}

  transform(value: unknown): T {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    throw new ValidationFailed(
      result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
    );
  }
}
