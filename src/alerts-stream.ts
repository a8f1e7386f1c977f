import type Redis from 'ioredis';

/** The system alert stream behind `/ws/system/alerts`: dependency, model and budget alerts. */
export const ALERTS_STREAM = 'neuronode:events:alerts';
const ALERTS_KEPT = 5_000;

/** Appends one alert; `workspace_id` is `*` for system-wide alerts. */
export async function publishAlert(redis: Redis, alert: Record<string, unknown>): Promise<Record<string, unknown>> {
  const event = { workspace_id: '*', ...alert, at: new Date().toISOString() };
  await redis.xadd(ALERTS_STREAM, 'MAXLEN', '~', ALERTS_KEPT, '*', 'event', JSON.stringify(event));
  return event;
}
