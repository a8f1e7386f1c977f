import type { z } from 'zod';
import { ApiError } from './errors';

/** Validates request input; a mismatch is a 400 naming every offending field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new ApiError(
      'validation_failed',
      'request does not match the expected shape',
      r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return r.data;
}
