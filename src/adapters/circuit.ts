/**
 * A circuit breaker per model alias. Consecutive failures of the gateway or the model behind it
 * (network errors, timeouts, 5xx, 429) open the circuit: calls then fail at once with
 * CircuitOpenError instead of waiting on a dead model, so there is no retry storm. After the
 * cool-down one trial call is let through (half-open); its success closes the circuit, its failure
 * opens it again for twice as long (up to a limit). Output that fails its schema is the model's
 * answer, not an outage, and does not count.
 */
export class CircuitOpenError extends Error {
  constructor(
    readonly alias: string,
    readonly retryInMs: number,
  ) {
    super(`the circuit for ${alias} is open after repeated failures; next trial in ${Math.ceil(retryInMs / 1000)} s`);
    this.name = 'CircuitOpenError';
  }
}

export interface CircuitOptions {
  /** @default 5 consecutive failures */
  failureThreshold?: number;
  /** @default 30000 ms before the first trial */
  coolDownMs?: number;
  /** @default 300000 ms — the longest cool-down */
  maxCoolDownMs?: number;
  now?: () => number;
}

type State = { failures: number; openUntil: number; coolDown: number; trial: boolean };

export class CircuitBreakers {
  private readonly states = new Map<string, State>();
  private readonly threshold: number;
  private readonly coolDown: number;
  private readonly maxCoolDown: number;
  private readonly now: () => number;

  constructor(opts: CircuitOptions = {}) {
    this.threshold = opts.failureThreshold ?? 5;
    this.coolDown = opts.coolDownMs ?? 30_000;
    this.maxCoolDown = opts.maxCoolDownMs ?? 300_000;
    this.now = opts.now ?? Date.now;
  }

  private state(alias: string): State {
    let s = this.states.get(alias);
    if (!s) this.states.set(alias, (s = { failures: 0, openUntil: 0, coolDown: this.coolDown, trial: false }));
    return s;
  }

  /** Throws CircuitOpenError while open; lets exactly one trial through once the cool-down is over. */
  before(alias: string): void {
    const s = this.state(alias);
    if (s.openUntil === 0) return;
    const wait = s.openUntil - this.now();
    if (wait > 0 || s.trial) throw new CircuitOpenError(alias, Math.max(0, wait));
    s.trial = true;
  }

  success(alias: string): void {
    const s = this.state(alias);
    Object.assign(s, { failures: 0, openUntil: 0, coolDown: this.coolDown, trial: false });
  }

  failure(alias: string): void {
    const s = this.state(alias);
    if (s.trial) {
      // The trial failed: open again, for longer.
      s.coolDown = Math.min(this.maxCoolDown, s.coolDown * 2);
      Object.assign(s, { trial: false, openUntil: this.now() + s.coolDown });
      return;
    }
    s.failures++;
    if (s.failures >= this.threshold) s.openUntil = this.now() + s.coolDown;
  }

  /** closed / open / half_open, per alias that has been called. */
  snapshot(): Record<string, { state: 'closed' | 'open' | 'half_open'; failures: number; retry_in_ms: number }> {
    const out: Record<string, { state: 'closed' | 'open' | 'half_open'; failures: number; retry_in_ms: number }> = {};
    for (const [alias, s] of this.states) {
      const wait = Math.max(0, s.openUntil - this.now());
      out[alias] = { state: s.openUntil === 0 ? 'closed' : s.trial || wait === 0 ? 'half_open' : 'open', failures: s.failures, retry_in_ms: wait };
    }
    return out;
  }
}
