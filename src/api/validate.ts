import { z } from 'zod';
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

/**
 * A date (2024-05-01) or an instant with an offset. Offsets are those real time zones use
 * (−12:00 … +14:00); ISO 8601 allows more than PostgreSQL, which would fail on them.
 */
export const isoInstant = z.iso
  .date()
  .or(z.iso.datetime({ offset: true }))
  .refine((v) => {
    const m = /([+-])(\d{2}):?(\d{2})$/.exec(v.length > 10 ? v : '');
    if (!m) return true;
    const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    return minutes >= -12 * 60 && minutes <= 14 * 60 && Number(m[3]) < 60;
  }, 'the time-zone offset must lie between -12:00 and +14:00');
