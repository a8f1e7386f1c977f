import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * What a test file starts that must not outlive it: systems (API, worker, alert monitor, store
 * clients) and child processes (workers, API servers, tools). Each is listed here from the moment it
 * exists until it is closed. The test environment (`tests/environment.js`) reads the list after the
 * file's own `afterAll` hooks: whatever is still open then is closed and fails that file, naming it,
 * so a leak is reported where it happens and never reaches the next file.
 */
export interface Closable {
  what: string;
  close(): Promise<void>;
}

const KEY = '__neuronodeOpen';
type Registry = Set<Closable>;
const open: Registry = ((globalThis as Record<string, unknown>)[KEY] as Registry | undefined) ?? new Set();
(globalThis as Record<string, unknown>)[KEY] = open;

/**
 * A group of resources closed together, last opened first. Every close runs even when an earlier one
 * fails; the failures are thrown together at the end. Closing twice does nothing the second time.
 */
export class Resources implements Closable {
  private readonly closers: { what: string; close: () => Promise<void> | void }[] = [];
  private closing?: Promise<void>;

  constructor(readonly what: string) {
    open.add(this);
  }

  add(what: string, close: () => Promise<void> | void): void {
    this.closers.push({ what, close });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: Error[] = [];
      for (const c of [...this.closers].reverse()) {
        try {
          await c.close();
        } catch (err) {
          errors.push(new Error(`closing ${c.what} of ${this.what} failed: ${(err as Error).message}`, { cause: err }));
        }
      }
      open.delete(this);
      if (errors.length === 1) throw errors[0];
      if (errors.length) throw new AggregateError(errors, `closing ${this.what} failed ${errors.length} times`);
    })();
    return this.closing;
  }

  /** Closes what was opened so far after a failed start, and rethrows the start's error (with any close errors). */
  async abandon(cause: unknown): Promise<never> {
    try {
      await this.close();
    } catch (closeErr) {
      throw new AggregateError([cause, closeErr], `${(cause as Error).message} (and closing what was started failed too)`);
    }
    throw cause;
  }
}

/**
 * A child process listed until it exits. Closing sends `signal` (default SIGTERM), then SIGKILL after
 * `graceMs`, and waits for the exit.
 */
export function spawnTracked(what: string, command: string, args: string[], options: SpawnOptions, graceMs = 10_000): ChildProcess {
  const child = spawn(command, args, options);
  const entry: Closable = {
    what: `${what} (pid ${child.pid})`,
    close: () => stopChild(child, 'SIGTERM', graceMs),
  };
  open.add(entry);
  // 'close' also follows a failed spawn, which never exits.
  for (const ev of ['exit', 'close'] as const) child.once(ev, () => open.delete(entry));
  return child;
}

/** Signals a child and waits until it has exited; SIGKILL if it is still there after `graceMs`. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
