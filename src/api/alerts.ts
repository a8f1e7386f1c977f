import type { Deps } from '../deps';
import { probeDependencies } from '../deps';
import { publishAlert } from '../alerts-stream';

/**
 * System alerts for `/ws/system/alerts`: a dependency going down or coming back, and a model alias
 * whose recent calls mostly fail. One API process at a time watches (a Redis lease), the last known
 * states live in Redis, so a restart or a change of watcher does not repeat an alert. The budget gate
 * adds its own alerts to the same stream (`src/budget.ts`).
 */
export { ALERTS_STREAM } from '../alerts-stream';
const LEASE = 'neuronode:alerts:lease';
const STATE = 'neuronode:alerts:state';

export interface AlertMonitorOptions {
  intervalMs: number;
  /** Calls in the window before an error rate counts. @default 5 */
  minCalls?: number;
  /** Share of failed calls that raises an alert. @default 0.5 */
  errorRate?: number;
  /** The window over which calls are counted, in minutes. @default 5 */
  windowMinutes?: number;
  /** false: no rounds of its own every intervalMs; whoever started it drives them with check(). @default true */
  timer?: boolean;
}

export interface AlertMonitor {
  /** The window over which a model alias's calls are counted, in minutes. @default 5 */
  readonly windowMinutes: number;
  /** One round now (tests and start-up); returns the alerts it raised. */
  check(): Promise<Record<string, unknown>[]>;
  /** Whether this process holds the watcher lease now. */
  watching(): Promise<boolean>;
  /** Stops watching and hands the lease back, so another process takes over at once. */
  stop(): Promise<void>;
}

/** Deletes the lease only while it is still ours. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export function startAlertMonitor(deps: Deps, opts: AlertMonitorOptions): AlertMonitor {
  const me = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const minCalls = opts.minCalls ?? 5;
  const threshold = opts.errorRate ?? 0.5;
  const windowMinutes = opts.windowMinutes ?? 5;
  let running = false;

  const raise = (alert: Record<string, unknown>) => publishAlert(deps.redis, alert);

  const check = async (): Promise<Record<string, unknown>[]> => {
    if (running) return [];
    running = true;
    try {
      // Only the holder of the lease watches; it renews the lease each round.
      const held = await deps.redis.set(LEASE, me, 'PX', opts.intervalMs * 3, 'NX');
      if (!held && (await deps.redis.get(LEASE)) !== me) return [];
      await deps.redis.pexpire(LEASE, opts.intervalMs * 3);
      const raised: Record<string, unknown>[] = [];
      const before = await deps.redis.hgetall(STATE);
      const states: Record<string, string> = {};

      for (const c of await probeDependencies(deps, deps.env.HEALTH_TIMEOUT_MS)) {
        if (c.name === 'redis') continue; // alerts travel through Redis: it cannot report its own outage
        const state = c.ok ? 'up' : 'down';
        states[`dependency:${c.name}`] = state;
        const was = before[`dependency:${c.name}`];
        if (was !== state && (was !== undefined || state === 'down')) {
          raised.push(await raise({ kind: state === 'down' ? 'dependency_down' : 'dependency_up', severity: state === 'down' ? 'critical' : 'info', dependency: c.name, ...(c.error ? { error: c.error } : {}) }));
        }
      }

      // Calls per alias in one stated window, (window_start, window_end]: an alert's counts are
      // exactly those of its window, so anyone can count them again.
      const rates = await deps.db.query(
        `WITH w AS (SELECT now() - make_interval(mins => $1) AS since, now() AS until)
         SELECT m.alias, count(*)::int AS calls, count(*) FILTER (WHERE NOT m.ok)::int AS failed, w.since, w.until
           FROM w JOIN model_calls m ON m.at > w.since AND m.at <= w.until
          GROUP BY m.alias, w.since, w.until`,
        [windowMinutes],
      );
      const seen = new Set<string>();
      for (const r of rates.rows) {
        const k = `model:${r.alias}`;
        seen.add(k);
        const state = r.calls >= minCalls && r.failed / r.calls >= threshold ? 'failing' : 'ok';
        states[k] = state;
        if (state !== (before[k] ?? 'ok')) {
          raised.push(
            await raise({
              kind: state === 'failing' ? 'model_error_rate' : 'model_recovered',
              severity: state === 'failing' ? 'warning' : 'info',
              alias: r.alias,
              calls: r.calls,
              failed: r.failed,
              error_rate: Number((r.failed / r.calls).toFixed(3)),
              window_minutes: windowMinutes,
              window_start: (r.since as Date).toISOString(),
              window_end: (r.until as Date).toISOString(),
            }),
          );
        }
      }
      // An alias with no recent calls is no longer failing.
      for (const k of Object.keys(before).filter((k) => k.startsWith('model:') && !seen.has(k))) {
        if (before[k] === 'failing') raised.push(await raise({ kind: 'model_recovered', severity: 'info', alias: k.slice(6), calls: 0, failed: 0, window_minutes: windowMinutes }));
        states[k] = 'ok';
      }
      if (Object.keys(states).length) await deps.redis.hset(STATE, states);
      return raised;
    } catch (err) {
      console.error('alert monitor round failed:', (err as Error).message);
      return [];
    } finally {
      running = false;
    }
  };

  const timer = opts.timer === false ? undefined : setInterval(() => void check(), opts.intervalMs);
  timer?.unref();
  return {
    windowMinutes,
    check,
    async watching() {
      return (await deps.redis.get(LEASE)) === me;
    },
    async stop() {
      clearInterval(timer);
      await deps.redis.eval(RELEASE, 1, LEASE, me).catch((err: Error) => console.error('alert monitor could not hand back its lease:', err.message));
    },
  };
}
