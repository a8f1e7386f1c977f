import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import type Redis from 'ioredis';

/**
 * Activity latency, recorded by every worker process into one Redis hash so that the API's
 * /api/metrics can serve it as a Prometheus histogram covering all workers: cumulative bucket
 * counts, sum, count and failures per activity type.
 */
export const ACTIVITY_METRICS_KEY = 'neuronode:metrics:activity';
export const ACTIVITY_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/**
 * Activity attempts by the worker that ran them (its Temporal identity), activity type and outcome:
 * where the work went when several workers poll the same task queues.
 */
export const WORKER_METRICS_KEY = 'neuronode:metrics:worker-activity';

export function recordActivity(redis: Redis, type: string, seconds: number, ok: boolean, worker: string): Promise<unknown> {
  const p = redis.pipeline();
  p.hincrby(WORKER_METRICS_KEY, `${worker}|${type}|${ok ? 'completed' : 'failed'}`, 1);
  for (const b of ACTIVITY_BUCKETS) if (seconds <= b) p.hincrby(ACTIVITY_METRICS_KEY, `${type}|${b}`, 1);
  p.hincrby(ACTIVITY_METRICS_KEY, `${type}|+Inf`, 1);
  p.hincrbyfloat(ACTIVITY_METRICS_KEY, `${type}|sum`, seconds);
  p.hincrby(ACTIVITY_METRICS_KEY, `${type}|count`, 1);
  if (!ok) p.hincrby(ACTIVITY_METRICS_KEY, `${type}|failed`, 1);
  return p.exec();
}

export class ActivityLatencyInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly redis: Redis,
    private readonly worker: string,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const started = performance.now();
    let ok = false;
    try {
      const result = await next(input);
      ok = true;
      return result;
    } finally {
      // Metrics never fail an activity: a Redis hiccup loses one sample, and the log says so.
      void recordActivity(this.redis, this.ctx.info.activityType, (performance.now() - started) / 1000, ok, this.worker).catch((err: Error) =>
        console.warn(`activity latency sample of ${this.ctx.info.activityType} lost: ${err.message}`),
      );
    }
  }
}

/** The histogram in Prometheus form, read from the hashes at scrape time, with attempts by worker. */
export async function activityHistogram(redis: Redis) {
  const [raw, byWorker] = await Promise.all([redis.hgetall(ACTIVITY_METRICS_KEY), redis.hgetall(WORKER_METRICS_KEY)]);
  const workers = Object.entries(byWorker).map(([k, v]) => {
    // The identity may hold "|" itself: the activity and outcome are the last two fields.
    const parts = k.split('|');
    const outcome = parts.pop()!;
    const activity = parts.pop()!;
    return { labels: { worker: parts.join('|'), activity, outcome }, value: Number(v) };
  });
  const name = 'neuronode_activity_duration_seconds';
  const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
  const failures: { labels: Record<string, string>; value: number }[] = [];
  const types = [...new Set(Object.keys(raw).map((k) => k.split('|')[0]!))].sort();
  for (const activity of types) {
    for (const le of [...ACTIVITY_BUCKETS.map(String), '+Inf']) values.push({ metricName: `${name}_bucket`, labels: { activity, le }, value: Number(raw[`${activity}|${le}`] ?? 0) });
    values.push({ metricName: `${name}_sum`, labels: { activity }, value: Number(raw[`${activity}|sum`] ?? 0) });
    values.push({ metricName: `${name}_count`, labels: { activity }, value: Number(raw[`${activity}|count`] ?? 0) });
    failures.push({ labels: { activity }, value: Number(raw[`${activity}|failed`] ?? 0) });
  }
  return { name, values, failures, workers };
}
